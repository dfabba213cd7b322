"""A plant's ERP on a local Tryton, as the embedded stack and `changeflow tryton init` run it:
under `<home>/tryton/<PLANT>/`, a template database with the modules installed (made once, about
30 s) and the plant's database copied from it and loaded through JSON-RPC (a few seconds)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from connectors.tryton.load import PlantLoader, plant_documents
from connectors.tryton.rpc import TrytonRpc
from connectors.tryton.server import TrytonServer

BASE_PORT = 8200
PASSWORD_FILE = "admin-password"


def plant_dir(home: Path, plant: str) -> Path:
    return home / "tryton" / plant


def admin_password(home: Path, plant: str) -> str:
    """The local Tryton's admin password: CHANGEFLOW_TRYTON_PASSWORD if set, else one made at
    random once and kept beside the database (mode 600), as the stack keeps its keys."""
    if os.environ.get("CHANGEFLOW_TRYTON_PASSWORD"):
        return os.environ["CHANGEFLOW_TRYTON_PASSWORD"]
    path = plant_dir(home, plant) / PASSWORD_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # mode 600 from the start, never readable by others
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(16))
    return path.read_text().strip()


def local_server(home: Path, plant: str, port: int) -> TrytonServer:
    return TrytonServer(plant_dir(home, plant), port, database=f"changeflow_{plant.lower()}")


def ensure_template(
    home: Path, plant: str, password: str, progress: Callable[[str], None]
) -> TrytonServer:
    """The template database (modules installed, no data), created when missing."""
    template = TrytonServer(plant_dir(home, plant) / "template", 0, database="template")
    if not template.exists():
        progress(f"creating Tryton's database for {plant} (modules: production, stock, purchase…)")
        template.create(password)
    return template


def fresh_database(
    home: Path, plant: str, port: int, password: str, progress: Callable[[str], None]
) -> TrytonServer:
    """The plant's database, new from the template (data not loaded yet)."""
    server = local_server(home, plant, port)
    template = ensure_template(home, plant, password, progress)
    server.copy_from(template)
    return server


def load_plant(
    server: TrytonServer,
    plant: str,
    password: str,
    dataset: str = "demo",
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, int]:
    """Load the plant's data into the running `server` through JSON-RPC."""

    async def run() -> dict[str, int]:
        rpc = TrytonRpc(f"ERP {plant}", server.url, "admin", password)
        try:
            return await PlantLoader(rpc, plant_documents(plant, dataset), progress).load()
        finally:
            await rpc.aclose()

    return asyncio.run(run())


def remove(home: Path, plant: str) -> None:
    shutil.rmtree(plant_dir(home, plant), ignore_errors=True)
