"""Multi-level where-used over an engineering BOM: every ancestor of a part, with the path to it."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

from pydantic import BaseModel

from domain.thread import BomLine


class WhereUsedEntry(BaseModel):
    part: str
    level: int
    path: list[str]  # from the changed part up to this ancestor
    end_item: bool


def parent_index(lines: Iterable[BomLine]) -> dict[str, list[str]]:
    """child -> sorted parents."""
    index: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        index[line.child].add(line.parent)
    return {child: sorted(parents) for child, parents in index.items()}


def where_used(part: str, parents: dict[str, list[str]]) -> list[WhereUsedEntry]:
    """Breadth-first up the BOM: each ancestor once, at its shortest level, sorted by level."""
    seen = {part}
    found: list[WhereUsedEntry] = []
    queue: deque[tuple[str, list[str]]] = deque([(part, [part])])
    while queue:
        current, path = queue.popleft()
        for parent in parents.get(current, []):
            if parent in seen:
                continue
            seen.add(parent)
            parent_path = [*path, parent]
            found.append(
                WhereUsedEntry(
                    part=parent,
                    level=len(parent_path) - 1,
                    path=parent_path,
                    end_item=not parents.get(parent),
                )
            )
            queue.append((parent, parent_path))
    return found


def find_cycle(lines: Iterable[BomLine]) -> list[str] | None:
    """A cycle in the BOM as a list of parts (first == last), or None when it is a DAG."""
    children: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        children[line.parent].append(line.child)
    white, grey, black = 0, 1, 2
    color: dict[str, int] = defaultdict(int)
    for root in list(children):
        if color[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        trail: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                color[node] = grey
                trail.append(node)
            kids = children.get(node, [])
            if index < len(kids):
                stack.append((node, index + 1))
                child = kids[index]
                if color[child] == grey:
                    return [*trail[trail.index(child) :], child]
                if color[child] == white:
                    stack.append((child, 0))
            else:
                color[node] = black
                trail.pop()
    return None
