"""The HTTP application: one FastAPI app, built from Settings, Ray-free.

``create_app`` is what the Serve ingress builds on each replica and what the integration tests
drive in-process. Its lifespan opens the runtime (database pool, Redis) and closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

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
    for module in (
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
        webhooks,
        dashboard,
        equipment,
        anomalies,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def edge(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        length = request.headers.get("content-length")
        if request.url.path.startswith("/api/webhooks/"):
            length = None  # the webhook route enforces the limit and audits the refusal
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            error = PayloadTooLarge(f"the body must be at most {settings.max_body_bytes} bytes")
            response: Response = problems.problem_response(error.problem(request.url.path))
        else:
            with request_scope(rid):
                response = await call_next(request)
        response.headers[REQUEST_ID_HEADER] = rid
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.tls_certfile and settings.tls_keyfile:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return app
