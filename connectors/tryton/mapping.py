"""How changeflow's business terms map onto Tryton's records (pure functions, no I/O).

- A part is a product template whose code is the part number; each revision of it is a variant
  with suffix `/<revision>`, so revision C of bracket 100-200 is product `100-200/C`. Tryton has
  no revision field: changing a component's revision in a BOM replaces the BOM input's product.
- A plant's MBOM is its `production.bom` records: one per output product, its inputs the MBOM
  lines.
- A production order is a `production`, its changeflow id in `reference`; its state maps to
  changeflow's status below. A critical order carries a note starting `Critical`.
- Stock is lots in storage locations whose code is changeflow's location; a stock key is
  `part|revision|location`. A disposition of stock is a note on the revision's product.
- A purchase order is a `purchase.purchase`, its changeflow id in `reference`, one line per
  part; the supplier's note on a revision goes in the line's `note`.
- Every changeflow write leaves a note on each record it touched, naming the change, the
  idempotency key and the result: the key is looked up there before writing again.
"""

from __future__ import annotations

import json
from typing import Any

SUFFIX = "/"
PRODUCTION_STATUS = {
    "request": "planned",
    "draft": "planned",
    "waiting": "released",
    "assigned": "released",
    "running": "in_process",
}
NOTE_HEAD = "changeflow"
DISPOSITION_HEAD = "Disposition of stock at"
CRITICAL_HEAD = "Critical"


def product_code(part: str, revision: str) -> str:
    return f"{part}{SUFFIX}{revision}"


def split_code(code: str) -> tuple[str, str]:
    """(part, revision) of a variant's code `100-200/C`; a code without a suffix has revision
    `-`."""
    part, sep, revision = code.rpartition(SUFFIX)
    return (part, revision) if sep else (code, "-")


def stock_key(part: str, revision: str, location: str) -> str:
    return f"{part}|{revision}|{location}"


def split_stock_key(key: str) -> tuple[str, str, str]:
    parts = key.split("|")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"stock key {key!r} is not part|revision|location")
    return parts[0], parts[1], parts[2]


def write_note(change_id: str, key: str, what: str, result: dict[str, Any]) -> str:
    """The note a changeflow write leaves on each record it touched."""
    return (
        f"{NOTE_HEAD} {change_id}: {what}\n"
        f"idempotency-key: {key}\n"
        f"result: {json.dumps(result, sort_keys=True)}"
    )


def key_marker(key: str) -> str:
    return f"idempotency-key: {key}\n"


def note_result(message: str) -> dict[str, Any] | None:
    """The result a write recorded in its note (None: not a changeflow write note)."""
    for line in message.splitlines():
        if line.startswith("result: "):
            return json.loads(line.removeprefix("result: "))
    return None


def disposition_note(location: str, disposition: str | None) -> str:
    return f"{DISPOSITION_HEAD} {location}: {disposition if disposition else '(none)'}"


def disposition_in(messages: list[str], location: str) -> str | None:
    """The disposition the latest note for `location` records (messages oldest first)."""
    head = f"{DISPOSITION_HEAD} {location}: "
    found: str | None = None
    for message in messages:
        for line in message.splitlines():
            at = line.find(head)
            if at >= 0:
                value = line[at + len(head) :]
                found = None if value == "(none)" else value
    return found
