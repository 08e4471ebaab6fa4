"""The HTTP application: one FastAPI app, built from Settings, Ray-free.

``create_app`` is what the Serve ingress builds on each replica and what the integration tests
drive in-process. Its lifespan opens the runtime (database pool, Redis) and closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ils.api import problems
from ils.api.routes import (
    analytics,
    anomalies,
    auth,
    bottlenecks,
    catalog,
    dashboard,
    dcs,
    dispensing,
    equipment,
    forecast,
    health,
    lims,
    metrics,
    orders,
    qc,
    security,
    stations,
    webhooks,
)
from ils.errors import PayloadTooLarge
from ils.logging_setup import REQUEST_ID_HEADER, accept_request_id, request_scope
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.settings import Settings

GatewaysFactory = Callable[[Settings], Gateways]
ReadinessProbe = Callable[[], Awaitable[dict[str, Any]]]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: Sent only when ILS itself serves TLS (Settings.tls_certfile / tls_keyfile).
HSTS = "max-age=31536000; includeSubDomains"


class Edge:
    """The edge of every HTTP request, as plain ASGI (no extra task, unlike BaseHTTPMiddleware).

    Binds the request id (``X-Request-ID``, the client's when sane) for the request's logs and
    returns it; refuses a declared body over ``max_body_bytes`` before the app reads it (the
    webhook route enforces and audits its own limit); adds the security headers (and HSTS when
    ILS serves TLS) to every response.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.defaults = dict(SECURITY_HEADERS)
        if settings.tls_certfile and settings.tls_keyfile:
            self.defaults["Strict-Transport-Security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = accept_request_id(headers.get(REQUEST_ID_HEADER))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                out = MutableHeaders(scope=message)
                out[REQUEST_ID_HEADER] = rid
                for name, value in self.defaults.items():
                    out.setdefault(name, value)
            await send(message)

        if self._too_large(scope["path"], headers.get("content-length")):
            limit = self.settings.max_body_bytes
            error = PayloadTooLarge(f"the body must be at most {limit} bytes")
            response = problems.problem_response(error.problem(scope["path"]))
            await response(scope, receive, send_with_headers)
            return
        with request_scope(rid):
            await self.app(scope, receive, send_with_headers)

    def _too_large(self, path: str, length: str | None) -> bool:
        if length is None or path.startswith("/api/webhooks/"):
            return False  # the webhook route enforces the limit and audits the refusal
        return not length.isdigit() or int(length) > self.settings.max_body_bytes


def create_app(
    settings: Settings,
    gateways_factory: GatewaysFactory | None = None,
    readiness_probe: ReadinessProbe | None = None,
    runtime: Runtime | None = None,
) -> FastAPI:
    """Build the API. Pass ``runtime`` to share an open one (tests); else the lifespan opens one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        gateways = gateways_factory(settings) if gateways_factory else None
        opened = await Runtime.open(settings, gateways)
        app.state.runtime = opened
        try:
            yield
        finally:
            await opened.close()

    app = FastAPI(
        title="ILS",
        version="0.1.0",
        lifespan=lifespan,
        description="Real-time backend between eye-care practices and prescription-lens labs.",
    )
    app.state.readiness_probe = readiness_probe
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app)
    # Routes are matched in order, once by the app and once more by Serve for its metrics: the
    # LIMS webhooks, the busiest route by far (every move of every job), are matched first.
    for module in (
        webhooks,
        health,
        auth,
        orders,
        catalog,
        dispensing,
        qc,
        security,
        forecast,
        metrics,
        analytics,
        dcs,
        lims,
        stations,
        bottlenecks,
        dashboard,
        equipment,
        anomalies,
    ):
        app.include_router(module.router)

    app.add_middleware(Edge, settings=settings)
    return app
