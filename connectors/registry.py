"""Choosing a connector per plant and system from the configuration."""

from __future__ import annotations

import httpx

from connectors.admin import SystemAdmin
from connectors.erp import ErpConnector, RestErp
from connectors.mes import MesConnector, RestMes
from connectors.plm import PlmConnector, RestPlm
from connectors.qms import QmsConnector, RestQms
from connectors.tryton.erp import TrytonErp
from connectors.tryton.rpc import credentials
from infra.settings import Settings, SystemEndpoint


def _check_kind(endpoint: SystemEndpoint, what: str) -> None:
    if endpoint.kind != "rest":
        raise ValueError(f"{what}: connector kind '{endpoint.kind}' is not available (use 'rest')")


class Connectors:
    """The connectors of every configured system, sharing one HTTP connection pool."""

    def __init__(self, settings: Settings, *, timeout: float = 15.0) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(timeout=timeout)
        self._tryton: dict[str, TrytonErp] = {}  # one logged-in session per plant

    async def aclose(self) -> None:
        await self._client.aclose()

    def plants(self) -> list[str]:
        return self.settings.plant_codes()

    def plm(self) -> PlmConnector:
        endpoint = self.settings.plm_endpoint()
        _check_kind(endpoint, "PLM")
        return RestPlm(endpoint.url, client=self._client)

    def erp(self, plant: str) -> ErpConnector:
        endpoint = self.settings.plant_endpoint(plant, "erp")
        if endpoint.kind == "tryton":
            if plant not in self._tryton:
                login, password = credentials(plant)
                self._tryton[plant] = TrytonErp(
                    plant, endpoint.url, login, password, client=self._client
                )
            return self._tryton[plant]
        _check_kind(endpoint, f"ERP {plant}")
        return RestErp(plant, endpoint.url, client=self._client)

    def mes(self, plant: str) -> MesConnector:
        endpoint = self.settings.plant_endpoint(plant, "mes")
        _check_kind(endpoint, f"MES {plant}")
        return RestMes(plant, endpoint.url, client=self._client)

    def for_system(
        self, system: str, plant: str | None = None
    ) -> PlmConnector | ErpConnector | MesConnector | QmsConnector:
        """The connector of `system` (PLM centrally, the others per plant)."""
        if system == "PLM":
            return self.plm()
        if plant is None:
            raise ValueError(f"{system} is a plant system: name the plant")
        chooser = {"ERP": self.erp, "MES": self.mes, "QMS": self.qms}.get(system)
        if chooser is None:
            raise ValueError(f"no connector for system {system}")
        return chooser(plant)

    def admin(self, system: str, plant: str) -> SystemAdmin:
        """A plant system's administration (version, backup, cutover) for releases."""
        if system not in ("ERP", "MES", "QMS"):
            raise ValueError(f"{system} releases are not rolled out by changeflow yet")
        connector = self.for_system(system, plant)
        return connector  # type: ignore[return-value]  # the REST connectors offer it

    def qms(self, plant: str) -> QmsConnector:
        endpoint = self.settings.plant_endpoint(plant, "qms")
        _check_kind(endpoint, f"QMS {plant}")
        return RestQms(plant, endpoint.url, client=self._client)
