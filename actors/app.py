"""The one composition root: Serve applications built from arguments (serve_config.yaml).

``build_api(args)`` is the import path of the ``api`` application. Arguments carry the settings
(``{"settings": {...}}``) so a replica never depends on the environment it happens to start in.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from actors.background import start_background
from actors.gateways import gateways_factory
from actors.tuning import tune_gateway_server
from ils.api.app import create_app
from ils.api.realtime.app import create_realtime_app
from ils.logging_setup import configure as configure_logging
from ils.settings import Settings


def settings_from_args(args: dict[str, Any] | None) -> Settings:
    """Settings for a replica: explicit arguments over the environment of the builder."""
    return Settings(**dict((args or {}).get("settings") or {}))


def build_api(args: dict[str, Any] | None = None) -> Application:
    """The HTTP API application: REST routes and LIMS webhooks (autoscaled in serve_config)."""
    settings = settings_from_args(args)

    def builder() -> FastAPI:  # Serve recognises a builder only by inspect.isfunction
        configure_logging(settings.log_level)
        if settings.background_with_api:
            start_background(settings)  # found if it runs: one per database, not per replica
        return create_app(settings, gateways_factory)

    @serve.deployment(name="api", max_ongoing_requests=64, ray_actor_options={"num_cpus": 0})
    @serve.ingress(builder)
    class ApiIngress:
        """A replica of the HTTP API; the FastAPI app (and its runtime) is built on the replica."""

    return ApiIngress.bind()  # type: ignore[attr-defined]


def build_realtime(args: dict[str, Any] | None = None) -> Application:
    """The WebSocket gateway application (route prefix ``/ws``), apart from the HTTP API.

    Every open socket holds one ``max_ongoing_requests`` slot, so the limit is far above the
    API's; sockets never compete with REST requests for a replica's slots.
    """
    settings = settings_from_args(args)

    def builder() -> FastAPI:
        configure_logging(settings.log_level)
        tune_gateway_server(settings.ws_compression)  # before Serve starts the replica's server
        return create_realtime_app(settings, gateways_factory)

    @serve.deployment(
        name="gateway", max_ongoing_requests=10_000, ray_actor_options={"num_cpus": 0}
    )
    @serve.ingress(builder)
    class GatewayIngress:
        """A gateway replica: its sockets and one long-poll per tenant it serves."""

    return GatewayIngress.bind()  # type: ignore[attr-defined]


build = build_api
