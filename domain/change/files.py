"""A change file (YAML or JSON) read into a `ChangeRequest`; errors name the file, the field and
the reason. Pure: the caller reads the text."""

from __future__ import annotations

import json
from pathlib import PurePath

import yaml
from pydantic import ValidationError

from domain.change.errors import describe_validation_error
from domain.change.request import ChangeRequest


class ChangeFileError(ValueError):
    """A change file that cannot be used: the message, and one line per field at fault."""

    def __init__(self, message: str, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or []


def parse_change_file(text: str, path: PurePath) -> ChangeRequest:
    """The change in `text` (JSON when `path` ends in .json, else YAML), validated."""
    is_json = path.suffix == ".json"
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ChangeFileError(
            f"{path} is not valid {'JSON' if is_json else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ChangeFileError(f"{path} must hold one change (a mapping of fields)")
    try:
        return ChangeRequest.model_validate(data)
    except ValidationError as exc:
        raise ChangeFileError(
            f"{path} is not a valid change:", describe_validation_error(exc)
        ) from exc
