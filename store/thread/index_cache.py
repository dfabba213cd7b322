"""The committed thread's impact index per process: rebuilt only when the thread's version
moves, and read from the persisted columns (store/thread/cache.py) when another process already
wrote them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from infra.logs import get_logger
from store.thread import cache as thread_cache
from store.thread.store import ThreadStore


class IndexCache:
    """The committed thread's index, rebuilt only when the thread's version moves. With `home`,
    each version's columns are also kept on disk (store/thread/cache.py): a new process reads
    them from there instead of the database."""

    def __init__(self, store: ThreadStore, home: Path | None = None) -> None:
        self.store = store
        self.home = home
        self._current: tuple[int, Any] | None = None
        self._lock = threading.Lock()

    def current(self) -> tuple[int, Any]:
        from domain.thread.index import ThreadIndex

        with self._lock:
            version = self.store.state().version
            if self._current is None or self._current[0] != version:
                tables = thread_cache.load(self.home, version) if self.home else None
                if tables is None:
                    version, tables = self.store.load()
                    if self.home and version:
                        try:
                            thread_cache.save(self.home, version, tables)
                        except OSError as exc:  # a read-only or full disk: the database serves
                            get_logger(component="thread").warning(
                                "thread cache not written", error=str(exc)
                            )
                self._current = (version, ThreadIndex(tables))
            return self._current
