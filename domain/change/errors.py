"""Readable messages from validation errors: each names the field and the reason."""

from __future__ import annotations

from pydantic import ValidationError

ITEM_TAGS = {"part", "operation", "equipment", "release"}


def describe_validation_error(error: ValidationError) -> list[str]:
    """One line per problem, `field.path: reason`, as shown to a user."""
    lines = []
    for problem in error.errors():
        loc = [str(part) for part in problem["loc"] if part not in ITEM_TAGS]
        where = ".".join(loc) or "(change)"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return lines


class ChangeRejectedError(ValueError):
    """The change cannot be carried out as submitted (unknown part, bad revision, ...)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
