"""A local Tryton server for one plant: its configuration, database creation and process.

The embedded stack (`changeflow up --erp MTY=tryton`) and the tests run Tryton on SQLite under a
directory of their own: `trytond.conf`, `<db>.sqlite`, the admin password file and the log. The
database is created with `trytond-admin` (the modules changeflow needs, about 30 s on 2 cores)
and can be copied as a template: a SQLite database is one file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
MODULES = [
    "production",
    "production_routing",
    "production_work",
    "stock_lot",
    "purchase",
    "quality",
]


class TrytonServerError(RuntimeError):
    pass


def require_installed() -> None:
    """A clear error when trytond is not installed beside changeflow."""
    if not (BIN / "trytond").exists() or not (BIN / "trytond-admin").exists():
        raise TrytonServerError(
            "Tryton is not installed in this environment: pip install -e '.[tryton]' "
            "(make test, make demo-tryton do it)"
        )


@dataclass
class TrytonServer:
    """trytond serving database `database` from `directory` on 127.0.0.1:`port`."""

    directory: Path
    port: int
    database: str = "changeflow"
    process: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.directory / "trytond.conf"

    @property
    def db_file(self) -> Path:
        return self.directory / f"{self.database}.sqlite"

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint of the database (what `erp = {kind = "tryton", url}` names)."""
        return f"http://127.0.0.1:{self.port}/{self.database}/"

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "[database]\n"
            "uri = sqlite://\n"
            f"path = {self.directory.resolve()}\n"
            "[web]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            "[session]\n"
            "timeout = 3600\n"
            "max_attempt = 50\n"
        )

    def exists(self) -> bool:
        return self.db_file.exists() and self.db_file.stat().st_size > 0

    def create(self, admin_password: str, *, email: str = "admin@changeflow.local") -> None:
        """Create the database with the modules changeflow uses (trytond-admin)."""
        require_installed()
        self.write_config()
        self.remove()
        self.db_file.touch()
        pass_file = self.directory / ".admin-password"
        pass_file.write_text(admin_password)
        pass_file.chmod(0o600)
        argv = [str(BIN / "trytond-admin"), "-c", str(self.config), "-d", self.database]
        argv += ["--all", "--email", email, "-u", *MODULES, "--activate-dependencies"]
        log = self.directory / "trytond-admin.log"
        with log.open("wb") as out:
            done = subprocess.run(
                argv,
                env={**os.environ, "TRYTONPASSFILE": str(pass_file)},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        pass_file.unlink(missing_ok=True)
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            self.db_file.unlink(missing_ok=True)
            raise TrytonServerError(f"trytond-admin failed ({done.returncode}); see {log}:\n{tail}")

    def remove(self) -> None:
        """The database file and SQLite's journal beside it (a stale WAL would be replayed
        into a new file of the same name)."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.db_file}{suffix}").unlink(missing_ok=True)

    def copy_from(self, template: TrytonServer) -> None:
        """This database as a copy of `template`'s (same modules, users and data)."""
        self.write_config()
        self.remove()
        shutil.copyfile(template.db_file, self.db_file)

    def argv(self) -> list[str]:
        return [str(BIN / "trytond"), "-c", str(self.config), "-d", self.database]

    def start(self, timeout: float = 60.0) -> None:
        """Serve the database and wait until it answers."""
        require_installed()
        self.write_config()
        log = (self.directory / "trytond.log").open("ab")
        self.process = subprocess.Popen(
            self.argv(), stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        self.wait_ready(timeout)

    def ready(self) -> bool:
        try:
            answer = httpx.post(
                self.url + "rpc/", json={"id": 0, "method": "common.server.version", "params": []}
            )
        except httpx.HTTPError:
            return False
        return answer.status_code in (200, 401)  # 401: serving, and asking for a session

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise TrytonServerError(
                    f"trytond exited with {self.process.returncode}; see "
                    f"{self.directory / 'trytond.log'}"
                )
            if self.ready():
                return
            time.sleep(0.2)
        raise TrytonServerError(f"trytond did not answer on port {self.port} in {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
