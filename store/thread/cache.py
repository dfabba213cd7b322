"""The committed thread in columns, persisted per thread version so that a new worker or API
process starts from files instead of reading a million rows out of the database.

`<home>/thread-cache/v<version>/`: one `.npy` per numeric column (memory-mapped when read), one
UTF-8 blob plus offsets per text column, and `meta.json` (plants, version, row counts) written
last, so a directory without it is incomplete and ignored. Older versions are removed once a newer
one is written. The database stays the truth: the cache is only read for the version the
database says is current.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from domain.thread.tables import SCHEMA, ThreadTables

META = "meta.json"


def cache_dir(home: Path) -> Path:
    return home / "thread-cache"


def _version_dir(home: Path, version: int) -> Path:
    return cache_dir(home) / f"v{version}"


def save(home: Path, version: int, tables: ThreadTables) -> Path:
    """Write `tables` as version `version` (atomically: a temporary directory renamed)."""
    final = _version_dir(home, version)
    if (final / META).exists():
        return final
    tmp = cache_dir(home) / f".v{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    counts = {}
    for name, schema in SCHEMA.items():
        columns = tables[name]
        counts[name] = tables.rows(name)
        for col, dtype in schema.items():
            values = columns[col]
            stem = tmp / f"{name}.{col}"
            if dtype is object:
                encoded = [("" if v is None else str(v)).encode() for v in values]
                offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
                np.cumsum([len(b) for b in encoded], out=offsets[1:])
                stem.with_suffix(stem.suffix + ".txt").write_bytes(b"".join(encoded))
                np.save(stem.with_suffix(stem.suffix + ".off.npy"), offsets)
            else:
                np.save(stem.with_suffix(stem.suffix + ".npy"), np.ascontiguousarray(values))
    meta = {
        "version": version,
        "plants": tables.plants,
        "plant_names": tables.plant_names,
        "counts": counts,
    }
    (tmp / META).write_text(json.dumps(meta))
    try:
        tmp.rename(final)
    except OSError:  # another process wrote the same version first
        shutil.rmtree(tmp, ignore_errors=True)
    for other in cache_dir(home).glob("v*"):
        if other.name[1:].isdigit() and int(other.name[1:]) < version:
            shutil.rmtree(other, ignore_errors=True)  # readers keep their mapped files
    return final


def _text(blob: bytes, offsets: np.ndarray) -> np.ndarray:
    out = np.empty(len(offsets) - 1, dtype=object)
    if len(out):
        text = blob.decode()
        if len(text) == len(blob):  # ASCII: character offsets are byte offsets
            bounds = offsets.tolist()
            out[:] = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        else:
            bounds = offsets.tolist()
            out[:] = [blob[a:b].decode() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return out


def load(home: Path, version: int) -> ThreadTables | None:
    """Version `version` of the thread from the cache (None: not cached)."""
    directory = _version_dir(home, version)
    meta_path = directory / META
    if not meta_path.exists():
        return None
    try:
        return _read(directory, json.loads(meta_path.read_text()))
    except (OSError, ValueError):  # removed or damaged meanwhile: the database has it
        return None


def _read(directory: Path, meta: dict) -> ThreadTables:
    tables: dict[str, dict[str, np.ndarray]] = {}
    for name, schema in SCHEMA.items():
        columns = {}
        for col, dtype in schema.items():
            stem = directory / f"{name}.{col}"
            if dtype is object:
                offsets = np.load(stem.with_suffix(stem.suffix + ".off.npy"))
                blob = stem.with_suffix(stem.suffix + ".txt").read_bytes()
                columns[col] = _text(blob, offsets)
            else:
                columns[col] = np.load(stem.with_suffix(stem.suffix + ".npy"), mmap_mode="r")
        tables[name] = columns
    return ThreadTables(plants=meta["plants"], plant_names=meta["plant_names"], tables=tables)
