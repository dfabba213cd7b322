"""Passwords checked under a throttle: signing in to the pages, and signing a decision (pages and
API). Failures are counted per name and per client address (the address a trusted proxy
forwarded, starter/web/proxy.py) in moving windows that grow (a minute, an hour, a day: `limits`),
so guessing slows down more the longer it goes on, whoever the name belongs to; a throttled
attempt is refused before any password is checked (429 with Retry-After). Each throttle that
engages is in the security log (store/security_events.py), and wrong passwords still count
towards the user's lock (store/credentials.py).

The windows live in the API process (`memory://`); several API processes share them through a
`limits` storage such as `redis://host:6379` (the setting `throttle_storage`)."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from infra.logs import get_logger
from store.credentials import SigningRefused, check_password
from store.security_events import THROTTLED, record_security_event

log = get_logger(component="api")

# failures allowed per name and per client address before the next attempt waits
NAME_LIMITS = "10/minute;20/hour;50/day"  # the lock comes first: 5 wrong passwords
ADDRESS_LIMITS = "20/minute;100/hour;500/day"
MAX_REMEMBERED = 10_000  # engaged throttles kept (to log each once) before lifted ones are dropped


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Engaged:
    scope: str  # name | address
    key: str
    limit: str
    until: float


class Throttle:
    """Failed attempts per name and per address, in windows of growing length."""

    def __init__(
        self,
        storage: str = "memory://",
        name_limits: str = NAME_LIMITS,
        address_limits: str = ADDRESS_LIMITS,
    ) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))
        self.tiers: dict[str, list[RateLimitItem]] = {
            "name": parse_many(name_limits),
            "address": parse_many(address_limits),
        }
        self._engaged: dict[tuple[str, str, str], float] = {}

    @staticmethod
    def _keys(name: str | None, address: str | None) -> list[tuple[str, str]]:
        keys = []
        if name:
            keys.append(("name", name.strip().lower()[:100]))
        if address:
            keys.append(("address", address))
        return keys

    def check(self, name: str | None, address: str | None) -> None:
        """Raise Throttled (with the seconds to wait) when the name or the address has failed
        too often lately; the longest wait of every window that is full."""
        now = time.time()
        waits = [
            self.limiter.get_window_stats(item, "failed", scope, key).reset_time - now
            for scope, key in self._keys(name, address)
            for item in self.tiers[scope]
            if not self.limiter.test(item, "failed", scope, key)
        ]
        if waits:
            raise Throttled(max(1, math.ceil(max(waits))))

    def failed(self, name: str | None, address: str | None) -> list[Engaged]:
        """Count a failure; returns the windows it filled (the throttles it engages now)."""
        now = time.time()
        if len(self._engaged) > MAX_REMEMBERED:  # forget the throttles that have lifted
            self._engaged = {k: until for k, until in self._engaged.items() if until > now}
        engaged = []
        for scope, key in self._keys(name, address):
            for item in self.tiers[scope]:
                self.limiter.hit(item, "failed", scope, key)
                stats = self.limiter.get_window_stats(item, "failed", scope, key)
                marker = (scope, key, str(item))
                if stats.remaining == 0 and self._engaged.get(marker, 0) <= now:
                    self._engaged[marker] = stats.reset_time
                    engaged.append(Engaged(scope, key, str(item), stats.reset_time))
        return engaged


def throttle_of(request: Request) -> Throttle:
    state = request.app.state
    if getattr(state, "throttle", None) is None:
        state.throttle = Throttle(state.settings.throttle_storage)
    return state.throttle


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def too_many(exc: Throttled) -> HTTPException:
    return HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)})


async def checked_password(request: Request, name: str, password: str, *, channel: str) -> None:
    """`name`'s password, checked unless the name or the client is throttled (Throttled);
    SigningRefused says why it was not accepted (and counts towards the throttles)."""
    throttle = throttle_of(request)
    address = client_address(request)
    throttle.check(name, address)
    engine = request.app.state.engine
    try:
        await asyncio.to_thread(
            check_password,
            engine,
            name,
            password,
            lock_minutes=request.app.state.settings.approvals.lock_minutes,
            address=address,
            channel=channel,
        )
    except SigningRefused:
        for engaged in throttle.failed(name, address):
            log.info("throttled", scope=engaged.scope, key=engaged.key, limit=engaged.limit)
            await asyncio.to_thread(
                record_security_event,
                engine,
                THROTTLED,
                actor="changeflow",
                user_name=name if engaged.scope == "name" else None,
                address=address,
                detail={
                    "scope": engaged.scope,
                    "limit": engaged.limit,
                    "channel": channel,
                    "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(engaged.until)),
                },
            )
        raise
