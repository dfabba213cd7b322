"""Requests that come through a TLS-terminating proxy: the scheme and the client address the
proxy forwarded (X-Forwarded-Proto, X-Forwarded-For) are believed only from the proxies the
settings trust (`forwarded_allow_ips`, uvicorn's `--forwarded-allow-ips` in the same form: IPs,
networks, `*`); from anyone else they are ignored. The session cookie is then `Secure` when the
browser's request was https (or always, with `secure_cookies`), and the sign-in throttle counts
the real client, not the proxy.

uvicorn's own ProxyHeadersMiddleware does the work; it is built from the app's settings when the
first request arrives (the settings are loaded in the app's lifespan)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class TrustedProxies:
    """X-Forwarded-Proto and X-Forwarded-For, from the proxies the settings trust only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner: ProxyHeadersMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        inner = self._inner
        if inner is None:
            settings = getattr(scope["app"].state, "settings", None)
            if settings is None:  # no lifespan ran (an app driven without it): trust nobody
                await self.app(scope, receive, send)
                return
            inner = self._inner = ProxyHeadersMiddleware(
                self.app,  # type: ignore[arg-type]
                trusted_hosts=settings.forwarded_allow_ips,
            )
        await inner(scope, receive, send)  # type: ignore[arg-type]
