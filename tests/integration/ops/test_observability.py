"""Request ids at the HTTP edge, the dashboard's routes, metrics recorded by the services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ils.runtime import Runtime
from ils.services.instruments import EVENTS_INGESTED, RecordingMeter
from ils.services.ports import Gateways, RecordingPublisher
from ils.settings import Settings
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The integration runtime with a meter that keeps what the services record."""
    gateways = Gateways(publisher=RecordingPublisher(), metrics=RecordingMeter())
    rt = await Runtime.open(settings, gateways)
    try:
        yield rt
    finally:
        await rt.bus.delete_prefix("")
        await rt.close()


@pytest.fixture
def lims(client: httpx.AsyncClient, world: World) -> Lims:
    assert world.lab.webhook_secret
    return Lims(client, world, world.lab.webhook_secret)


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/healthz")
    assert len(fresh.headers["X-Request-ID"]) >= 8
    again = await client.get("/healthz")
    assert again.headers["X-Request-ID"] != fresh.headers["X-Request-ID"]
    kept = await client.get("/healthz", headers={"X-Request-ID": "trace-0001-abcd"})
    assert kept.headers["X-Request-ID"] == "trace-0001-abcd"
    refused = await client.get("/api/me", headers={"X-Request-ID": "<script>"})
    assert refused.status_code == 401
    assert refused.headers["X-Request-ID"] != "<script>"
    assert len(refused.headers["X-Request-ID"]) == 32


async def test_the_dashboard_is_served_and_stays_out_of_the_openapi(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "connect-src 'self' ws: wss:" in page.headers["content-security-policy"]
    assert '<script type="module" src="/static/dashboard.js">' in page.text
    script = await client.get("/static/dashboard.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "new WebSocket(socketUrl())" in script.text
    assert (await client.get("/static/dashboard.css")).status_code == 200
    for name in ("index.html", "__init__.py", "..%2Fapp.py", "missing.js"):
        response = await client.get(f"/static/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"] == "application/problem+json"
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)


async def test_ingested_lims_events_are_counted_by_outcome(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    meter = runtime.gateways.metrics
    assert isinstance(meter, RecordingMeter)
    order = await place_order(client, world)
    first = lims.event(order["id"], "job.station_changed", station="surfacing", status="queued")
    second = lims.event(order["id"], "job.station_changed", station="surfacing", status="done")
    response = await lims.post({"events": [first, second]})
    assert response.status_code == 200, response.text
    assert meter.total(EVENTS_INGESTED, outcome="applied") == 2
    replay = await lims.post(first)
    assert replay.status_code == 200
    assert meter.total(EVENTS_INGESTED, outcome="applied") == 2
    assert meter.total(EVENTS_INGESTED, outcome="duplicate") == 1
