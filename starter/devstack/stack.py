"""The embedded stack behind `changeflow up`: Temporal dev server (persistent, search attributes
registered, Web UI), the plant-systems simulator, the worker and the HTTP API, as child processes
of one process group, started in order (after the store's migrations), each waited on until
healthy, stopped in reverse. A service that dies is restarted (and the stack says so); one that
keeps dying stops the stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from infra.audit_key import ensure_local_audit_key
from infra.settings import Settings
from infra.signing import ensure_local_key
from workflows.search_attributes import cli_flags

BIN = Path(sys.executable).parent
MAX_RESTARTS = 5  # within RESTART_WINDOW seconds; more and the stack gives up
RESTART_WINDOW = 60.0


class StackError(RuntimeError):
    pass


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


@dataclass
class Service:
    name: str
    argv: list[str]
    healthy: Callable[[], bool]
    busy: tuple[str, int] | None = None  # a port that must be free before starting
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    restarts: list[float] = field(default_factory=list)
    prepare: Callable[[], None] | None = None  # before the first launch
    prepare_on_restart: bool = False  # and before each restart
    ready: Callable[[], None] | None = None  # once first healthy


@dataclass
class Stack:
    settings: Settings
    reset_sim: bool = False
    dataset: str = "demo"
    ui_port: int = 8233
    services: list[Service] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    erp: dict[str, str] = field(default_factory=dict)  # plant -> connector kind ("tryton")
    _progress: Callable[[str], None] = field(default=lambda _m: None, repr=False)

    def __post_init__(self) -> None:
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o700)  # its databases, keys and passwords are nobody else's to read
        (home / "logs").mkdir(parents=True, exist_ok=True)
        t_host, _, t_port = self.settings.temporal_address.rpartition(":")
        sim = urlparse(self.settings.simulator_url)
        api = urlparse(self.settings.api_url)
        ui = urlparse(self.settings.ui_url)
        self.ui_port = ui.port or self.ui_port
        temporal = str(BIN / "temporal")
        py = sys.executable
        sim_argv = [
            py,
            "-m",
            "connectors.sim",
            "--host",
            sim.hostname or "127.0.0.1",
            "--port",
            str(sim.port or 8100),
            "--db",
            str(home / "sim.db"),
        ]
        sim_argv += ["--dataset", self.dataset, "--units-every", "30"]  # the lines keep running
        if self.reset_sim:
            sim_argv.append("--reset")
        self.services = [
            Service(
                "temporal",
                [
                    temporal,
                    "server",
                    "start-dev",
                    "--db-filename",
                    str(home / "temporal.db"),
                    "--sqlite-pragma",
                    "journal_mode=WAL",
                    "--sqlite-pragma",
                    "synchronous=NORMAL",
                    *cli_flags(),
                    "--ip",
                    t_host or "127.0.0.1",
                    "--port",
                    t_port or "7233",
                    "--ui-port",
                    str(self.ui_port),
                    "--log-level",
                    "warn",
                ],
                lambda: (
                    _port_open(t_host or "127.0.0.1", int(t_port or 7233))
                    and _port_open("127.0.0.1", self.ui_port)
                ),
                busy=(t_host or "127.0.0.1", int(t_port or 7233)),
            ),
            Service(
                "simulator",
                sim_argv,
                _http_ok(f"{self.settings.simulator_url}/healthz"),
                busy=(sim.hostname or "127.0.0.1", sim.port or 8100),
            ),
            *[self._tryton(plant, i) for i, plant in enumerate(sorted(self.erp))],
            # the central queue and each plant's queue in processes of their own, as in production
            self._worker("worker", []),
            *[
                self._worker(f"worker-{code}", ["--plant", code])
                for code in self.settings.plant_codes()
            ],
            Service(
                "api",
                [
                    py,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "starter.server:app",
                    "--host",
                    api.hostname or "127.0.0.1",
                    "--port",
                    str(api.port or 8000),
                    "--log-level",
                    "warning",
                ],
                _http_ok(f"{self.settings.api_url}/healthz"),
                busy=(api.hostname or "127.0.0.1", api.port or 8000),
            ),
        ]

    def _worker(self, name: str, args: list[str]) -> Service:
        """A worker process, healthy once it has written its pid to its ready file (its
        workers poll)."""
        ready = self.settings.home / "run" / f"{name}.ready"
        service = Service(
            name, [sys.executable, "-m", "worker", *args, "--ready-file", str(ready)], lambda: False
        )

        def polling() -> bool:
            proc = service.process
            try:
                return proc is not None and ready.read_text() == str(proc.pid)
            except OSError:
                return False

        def prepare() -> None:
            ready.parent.mkdir(parents=True, exist_ok=True)
            ready.unlink(missing_ok=True)

        service.healthy, service.prepare = polling, prepare
        service.prepare_on_restart = True  # its stale ready file goes before it restarts
        return service

    def _tryton(self, plant: str, index: int) -> Service:
        """A plant's ERP on a local Tryton (`--erp MTY=tryton`): its database made from the
        template and loaded with the plant's data when new or when the plants are reseeded."""
        from connectors.tryton import local
        from connectors.tryton.server import TrytonServerError, require_installed

        if self.erp[plant] != "tryton":
            raise StackError(f"--erp {plant}={self.erp[plant]}: only 'tryton' can be started")
        if plant not in self.settings.plant_codes():
            raise StackError(f"--erp {plant}=tryton: {plant} is not a configured plant")
        server = local.local_server(self.settings.home, plant, local.BASE_PORT + index)
        fresh = {"load": False}

        def prepare() -> None:
            password = local.admin_password(self.settings.home, plant)
            try:
                require_installed()
                if self.reset_sim or not server.exists():
                    say = self._progress
                    local.fresh_database(self.settings.home, plant, server.port, password, say)
                    fresh["load"] = True
            except TrytonServerError as exc:
                raise StackError(f"tryton-{plant}: {exc}") from exc
            server.write_config()

        def ready() -> None:
            if fresh["load"]:
                password = local.admin_password(self.settings.home, plant)
                local.load_plant(server, plant, password, self.dataset, self._progress)

        self.env[f"CHANGEFLOW_ERP_{plant}"] = f"tryton {server.url}"
        return Service(
            f"tryton-{plant}",
            server.argv(),
            server.ready,
            busy=("127.0.0.1", server.port),
            prepare=prepare,
            ready=ready,
        )

    def start(
        self, progress: Callable[[str], None] = lambda _m: None, timeout: float = 60.0
    ) -> None:
        self._progress = progress
        self.env = {
            **os.environ,
            **self.env,  # what the services asked for (a plant's ERP on Tryton)
            "CHANGEFLOW_HOME": str(self.settings.home),
            "CHANGEFLOW_SIMULATOR_URL": self.settings.simulator_url,
            "CHANGEFLOW_API_URL": self.settings.api_url,
            "TEMPORAL_ADDRESS": self.settings.temporal_address,
            "CHANGEFLOW_DATABASE_URL": self.settings.db_url,
            # the embedded stack keeps closed changes 30 days in Temporal; the audit trail forever
            "CHANGEFLOW_TEMPORAL_RETENTION_DAYS": str(self.settings.temporal_retention_days or 30),
        }
        ensure_local_key(self.settings.home, self.env)  # the API signs, the worker verifies
        ensure_local_audit_key(self.settings.home, self.env)  # the worker signs anchors
        if self.erp:
            from connectors.tryton.local import admin_password

            for plant in self.erp:  # the connectors read credentials from the environment only
                self.env[f"CHANGEFLOW_TRYTON_{plant}_PASSWORD"] = admin_password(
                    self.settings.home, plant
                )
        self.upgrade_store(progress)
        try:
            for service in self.services:
                if service.busy and _port_open(*service.busy):
                    raise StackError(
                        f"{service.name}: port {service.busy[1]} is already in use "
                        "(is another changeflow stack running?)"
                    )
                if service.prepare:
                    service.prepare()
                self._launch(service)
                progress(f"starting {service.name}")
                self._wait(service, timeout)
                if service.ready:
                    try:
                        service.ready()
                    except StackError:
                        raise
                    except Exception as exc:  # e.g. loading a plant's Tryton was refused
                        raise StackError(f"{service.name}: {exc}") from exc
                progress(f"{service.name} is up")
        except BaseException:
            self.stop()
            raise

    def upgrade_store(self, progress: Callable[[str], None] = lambda _m: None) -> None:
        """The store's migrations, once, before any service starts (they refuse a store that is
        not at head): `changeflow store upgrade`'s step."""
        from store.migrate import upgrade

        try:
            progress(upgrade(self.settings.db_url).summary())
        except Exception as exc:  # the database's own message is what the operator needs
            raise StackError(f"could not upgrade the store: {exc}") from exc

    def _launch(self, service: Service) -> None:
        service.log_path = self.settings.home / "logs" / f"{service.name}.log"
        with service.log_path.open("ab") as log:
            service.process = subprocess.Popen(
                service.argv, stdout=log, stderr=log, env=self.env, stdin=subprocess.DEVNULL
            )

    def supervise(self, progress: Callable[[str], None], timeout: float = 60.0) -> None:
        """One round of supervision: restart every service that died, saying so; StackError
        when a service died more than MAX_RESTARTS times within RESTART_WINDOW seconds."""
        for service in self.services:
            proc = service.process
            if proc is None or proc.poll() is None:
                continue
            now = time.monotonic()
            service.restarts = [t for t in service.restarts if now - t < RESTART_WINDOW] + [now]
            code = proc.returncode
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            if len(service.restarts) > MAX_RESTARTS:
                raise StackError(
                    f"{service.name} keeps dying ({how}, {len(service.restarts)} times in "
                    f"{RESTART_WINDOW:.0f}s); see {service.log_path}:\n{self._tail(service)}"
                )
            progress(
                f"{service.name} stopped ({how}); restarting it (restart {len(service.restarts)})"
            )
            if service.prepare and service.prepare_on_restart:
                service.prepare()
            self._launch(service)
            self._wait(service, timeout)
            progress(f"{service.name} is up again")

    def _wait(self, service: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert service.process is not None
            if service.process.poll() is not None:
                raise StackError(
                    f"{service.name} exited with {service.process.returncode}; "
                    f"see {service.log_path}:\n{self._tail(service)}"
                )
            if service.healthy():
                return
            time.sleep(0.2)
        raise StackError(
            f"{service.name} did not become healthy in {timeout:.0f}s; see "
            f"{service.log_path}:\n{self._tail(service)}"
        )

    @staticmethod
    def _tail(service: Service, lines: int = 15) -> str:
        if service.log_path is None or not service.log_path.exists():
            return ""
        return "\n".join(service.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for service in reversed(self.services):
            proc = service.process
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGINT if service.name == "temporal" else signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def ui_link(self, change_id: str | None = None) -> str:
        base = self.settings.ui_url
        ns = self.settings.temporal_namespace
        return f"{base}/namespaces/{ns}/workflows/{change_id}" if change_id else base


def wait_until_interrupted(stack: Stack, progress: Callable[[str], None] = lambda _m: None) -> None:
    """Block until Ctrl-C / SIGTERM, restarting services that die; then stop everything. A
    service that keeps dying raises StackError (after everything was stopped)."""
    stopping = {"flag": False}

    def handler(_sig: int, _frame: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    try:
        while not stopping["flag"]:
            stack.supervise(progress)
            time.sleep(0.5)
    finally:
        stack.stop()
