"""Revision labels and their order: letters (A, B, ..., Z, AA, AB) or numbers (1, 2, 10)."""

from __future__ import annotations

import re

_LETTERS = re.compile(r"^[A-Z]{1,3}$")
_NUMBER = re.compile(r"^[0-9]{1,6}$")


def is_valid_revision(label: str) -> bool:
    """True when the label is a letter revision (A..ZZZ, no I/O/Q/S/X/Z rules) or a number."""
    return bool(_LETTERS.match(label) or _NUMBER.match(label))


def revision_rank(label: str) -> tuple[int, int]:
    """A sortable key: numeric revisions sort before letter revisions, each in its own order.

    Letter revisions count like spreadsheet columns: A=1, Z=26, AA=27.
    """
    if _NUMBER.match(label):
        return (0, int(label))
    if _LETTERS.match(label):
        value = 0
        for char in label:
            value = value * 26 + (ord(char) - ord("A") + 1)
        return (1, value)
    raise ValueError(f"'{label}' is not a revision label (expected letters like 'C' or digits)")


def is_after(new: str, old: str) -> bool:
    """True when revision `new` comes after revision `old`."""
    return revision_rank(new) > revision_rank(old)


def next_revision(label: str) -> str:
    """The revision that follows `label` (B -> C, Z -> AA, 4 -> 5)."""
    kind, value = revision_rank(label)
    if kind == 0:
        return str(value + 1)
    value += 1
    letters = ""
    while value > 0:
        value, rem = divmod(value - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters
