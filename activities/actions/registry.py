"""Every rollout action by name. Handlers register themselves with `@register`; `handler_for`
is how activities reach them, and `registered()` is what plan validation checks against."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from activities.actions.base import Action, reject
from domain.rollout.tasks import TaskAction

_HANDLERS: dict[TaskAction, Action] = {}
T = TypeVar("T")


def register(cls: type[T]) -> type[T]:
    """Class decorator: one instance of the handler serves every task of its action."""
    handler = cls()
    name = handler.name  # type: ignore[attr-defined]
    if name in _HANDLERS:
        raise RuntimeError(f"two handlers for action {name}")
    _HANDLERS[name] = handler  # type: ignore[assignment]
    return cls


def _load_all() -> None:
    package = importlib.import_module("activities.actions")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in ("base", "registry"):
            importlib.import_module(f"activities.actions.{module.name}")


def handler_for(action: TaskAction) -> Action:
    if not _HANDLERS:
        _load_all()
    try:
        return _HANDLERS[action]
    except KeyError:
        raise reject(f"no handler for action {action}") from None


def registered() -> frozenset[TaskAction]:
    if not _HANDLERS:
        _load_all()
    return frozenset(_HANDLERS)
