"""Checks of a change request against what PLM and the plants hold, before anything starts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel

from domain.change.request import ChangeItem, ChangeRequest
from domain.change.revisions import revision_rank


class PartFacts(BaseModel):
    """What validation needs to know of a part."""

    number: str
    current_revision: str
    revisions: list[str]


def validate_against_thread(
    request: ChangeRequest, parts: Mapping[str, PartFacts], plant_codes: Iterable[str]
) -> list[str]:
    """Every problem with the request, each naming the object; empty when it can be assessed.
    `parts` needs only the changed parts (absent = unknown to PLM)."""
    problems: list[str] = []
    known = sorted(plant_codes)
    for plant in request.plants or []:
        if plant not in known:
            problems.append(f"plants: plant {plant} does not exist (known: {', '.join(known)})")
    for index, item in enumerate(request.items):
        if not isinstance(item, ChangeItem):
            continue
        where = f"items.{index}"
        part = parts.get(item.part)
        if part is None:
            problems.append(f"{where}.part: part {item.part} is not known to PLM")
            continue
        if part.current_revision != item.from_revision:
            problems.append(
                f"{where}.from_revision: part {item.part} is at revision "
                f"{part.current_revision} in PLM, not {item.from_revision}"
            )
        if item.to_revision in part.revisions:
            problems.append(
                f"{where}.to_revision: revision {item.to_revision} of part {item.part} "
                "already exists"
            )
        elif part.revisions and revision_rank(item.to_revision) < max(
            map(revision_rank, part.revisions)
        ):
            latest = max(part.revisions, key=revision_rank)
            problems.append(
                f"{where}.to_revision: revision {item.to_revision} of part {item.part} goes "
                f"backwards (latest is {latest})"
            )
    return problems
