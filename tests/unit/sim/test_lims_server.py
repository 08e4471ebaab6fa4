from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ils.lims.signature import verify
from ils.sim.cli import add_arguments, config_from
from ils.sim.lims import LimsConfig, LimsSimulator
from ils.sim.order_mix import synthetic_order
from ils.sim.serve import serve_lims
from ils.sim.server import build_app
from ils.sim.webhook import DeliveryConfig, WebhookSender

SECRET = "whsec_test"
KEY = "lims-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


class FakeIls:
    """ILS's webhook endpoint: verifies every signature and records what arrives."""

    def __init__(self, failures: int = 0, status: int = 503) -> None:
        self.received: list[dict] = []
        self.bodies: list[object] = []
        self.failures = failures
        self.status = status
        self.app = Starlette(
            routes=[Route("/api/webhooks/lims/{lab}", self.hook, methods=["POST"])]
        )

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        verify(request.headers.get("ils-signature"), body, [SECRET.encode()], int(time.time()))
        if self.failures > 0:
            self.failures -= 1
            return JSONResponse({}, status_code=self.status)
        payload = json.loads(body)
        self.bodies.append(payload)
        self.received.extend(payload.get("events", [payload]))
        return JSONResponse({"ok": True})


def lims_config(**overrides: object) -> LimsConfig:
    base = {
        "ils_base_url": "http://ils",
        "lab_tenant_id": "lab-1",
        "webhook_secret": SECRET,
        "api_key": KEY,
        "speed": 0.0,
        "seed": 1,
        "flush_interval_s": 0.0,
        "start": datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
    }
    return LimsConfig(**{**base, **overrides})  # type: ignore[arg-type]


Harness = tuple[LimsSimulator, httpx.AsyncClient, FakeIls]


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Harness]]:
    clients: list[httpx.AsyncClient] = []

    def build(ils: FakeIls | None = None, **overrides: object) -> Harness:
        ils = ils or FakeIls()
        to_ils = httpx.AsyncClient(transport=httpx.ASGITransport(app=ils.app))
        sim = LimsSimulator(lims_config(**overrides), to_ils)
        to_lims = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(sim)), base_url="http://lims"
        )
        clients.extend([to_ils, to_lims])
        return sim, to_lims, ils

    yield build
    for client in clients:
        await client.aclose()


def an_order(seed: int = 0) -> dict:
    return synthetic_order(np.random.default_rng(seed))


async def test_jobs_need_the_api_key(make: Callable[..., Harness]) -> None:
    sim, lims, _ = make()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await lims.post("/jobs", json=an_order(), headers=headers)
        assert response.status_code == 401
    assert sim.model.jobs == {}


async def test_same_idempotency_key_returns_the_same_job(make: Callable[..., Harness]) -> None:
    sim, lims, _ = make()
    order = an_order()
    headers = {**AUTH, "Idempotency-Key": order["id"]}
    first = await lims.post("/jobs", json=order, headers=headers)
    again = await lims.post("/jobs", json=order, headers=headers)
    other = await lims.post("/jobs", json=an_order(1), headers={**AUTH, "Idempotency-Key": "x"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["status"] == "accepted"
    assert datetime.fromisoformat(first.json()["estimated_completion"]) > sim.model.moment()
    assert other.json()["job_id"] != first.json()["job_id"]
    assert len(sim.model.jobs) == 2
    assert sim.stats()["idempotent_replays"] == 1


async def test_unmakeable_order_is_rejected_with_a_reason(make: Callable[..., Harness]) -> None:
    _, lims, _ = make()
    order = an_order()
    order["lens"]["type"] = "monocle"
    response = await lims.post("/jobs", json=order, headers=AUTH)
    assert response.status_code == 422
    assert "monocle" in response.json()["detail"]
    response = await lims.post("/jobs", content=b"{nope", headers=AUTH)
    assert response.status_code == 400


async def test_outage_answers_503_until_it_ends(make: Callable[..., Harness]) -> None:
    _, lims, _ = make()
    control = await lims.post("/_control/outage", json={"seconds": 0.3, "mode": "503"})
    assert control.status_code == 200
    down = await lims.post("/jobs", json=an_order(), headers=AUTH)
    assert down.status_code == 503
    assert int(down.headers["Retry-After"]) >= 1
    assert (await lims.get("/_control/stats")).json()["outage"] == "503"
    await asyncio.sleep(0.35)
    up = await lims.post("/jobs", json=an_order(), headers=AUTH)
    assert up.status_code == 200


async def test_hang_outage_holds_requests(make: Callable[..., Harness]) -> None:
    _, lims, _ = make()
    await lims.post("/_control/outage", json={"seconds": 0.3, "mode": "hang"})
    began = time.monotonic()
    response = await lims.post("/jobs", json=an_order(), headers=AUTH)
    assert response.status_code == 200
    assert time.monotonic() - began >= 0.25


async def test_bad_outage_request_is_refused(make: Callable[..., Harness]) -> None:
    _, lims, _ = make()
    response = await lims.post("/_control/outage", json={"seconds": 5, "mode": "meltdown"})
    assert response.status_code == 422


async def test_signed_webhooks_carry_every_event(make: Callable[..., Harness]) -> None:
    sim, lims, ils = make()
    for seed in range(5):
        await lims.post("/jobs", json=an_order(seed), headers=AUTH)
    await lims.post("/_control/advance", json={"minutes": 6 * 1440})
    await sim.sender.flush()
    stats = (await lims.get("/_control/stats")).json()
    assert stats["events_sent"] == stats["events_queued"] == len(ils.received) > 5 * 10
    assert stats["retries"] == 0
    assert {e["type"] for e in ils.received} >= {"job.accepted", "job.shipped", "job.delivered"}
    assert all("events" not in body for body in ils.bodies)


async def test_batches_hold_at_most_batch_size_events(make: Callable[..., Harness]) -> None:
    sim, lims, ils = make(batch_size=7)
    await lims.post("/jobs", json=an_order(), headers=AUTH)
    sim.advance(3 * 1440)
    await sim.sender.flush()
    sizes = [len(body["events"]) for body in ils.bodies]  # type: ignore[index]
    assert max(sizes) == 7
    assert sum(sizes) == sim.sender.stats.events_queued > 20


async def test_staff_control_changes_resources_while_running(
    make: Callable[..., Harness],
) -> None:
    sim, lims, _ = make()
    response = await lims.post("/_control/staff", json={"station": "edging", "staff": 7})
    assert response.json()["staff"] == 7
    assert sim.model.station_state()["edging"]["staff"] == 7
    bad = await lims.post("/_control/staff", json={"station": "nowhere", "staff": 1})
    assert bad.status_code == 422


def sender(ils: FakeIls, **overrides: object) -> tuple[WebhookSender, httpx.AsyncClient]:
    config = DeliveryConfig(
        url="http://ils/api/webhooks/lims/lab-1",
        secret=SECRET.encode(),
        backoff_base_s=0.001,
        backoff_max_s=0.005,
        **overrides,  # type: ignore[arg-type]
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=ils.app))
    return WebhookSender(config, client, np.random.default_rng(0)), client


def events(n: int) -> list[dict]:
    return [{"id": f"evt_{i}", "type": "job.accepted", "data": {"sequence": 1}} for i in range(n)]


def running_sender(
    ils: FakeIls, n: int
) -> tuple[WebhookSender, httpx.AsyncClient, asyncio.Task[None]]:
    """A sender running in batches of five, ``n`` events queued."""
    out, client = sender(ils, batch_size=5, flush_interval_s=0.0)
    running = asyncio.create_task(out.run())
    for e in events(n):
        out.enqueue(e)
    return out, client, running


async def test_closing_the_sender_finishes_the_batch_it_is_retrying() -> None:
    ils = FakeIls(failures=4)
    out, client, running = running_sender(ils, 5)
    await asyncio.sleep(0)  # the run loop takes the batch and meets the failing endpoint
    out.close()
    await asyncio.wait_for(running, timeout=5)
    await client.aclose()
    assert [e["id"] for e in ils.received] == [f"evt_{i}" for i in range(5)]
    assert out.stats.events_sent == 5 and out.stats.events_dropped == 0


async def test_abandoning_returns_what_was_never_sent_and_finishes_the_batch_in_hand() -> None:
    ils = FakeIls(failures=2)
    out, client, running = running_sender(ils, 12)
    while out.stats.requests == 0:  # the first batch of five is in hand, being retried
        await asyncio.sleep(0.001)
    out.close()
    never = out.abandon()
    await asyncio.wait_for(running, timeout=5)
    await client.aclose()
    assert [e["id"] for e in ils.received] == [f"evt_{i}" for i in range(5)]
    assert [e["id"] for e in never] == [f"evt_{i}" for i in range(5, 12)]
    assert (out.stats.events_sent, out.stats.events_abandoned, out.pending) == (5, 7, 0)


async def test_server_errors_are_retried_until_accepted() -> None:
    ils = FakeIls(failures=3)
    out, client = sender(ils)
    for e in events(2):
        out.enqueue(e)
    await out.flush()
    await client.aclose()
    assert [e["id"] for e in ils.received] == ["evt_0", "evt_1"]
    assert out.stats.retries == 3
    assert out.stats.events_sent == 2


async def test_client_errors_are_final() -> None:
    ils = FakeIls(failures=1, status=422)
    out, client = sender(ils)
    out.enqueue(events(1)[0])
    await out.flush()
    await client.aclose()
    assert out.stats.retries == 0
    assert out.stats.events_rejected == 1
    assert ils.received == []


async def test_duplicates_are_delivered_again_with_the_same_id() -> None:
    ils = FakeIls()
    out, client = sender(ils, duplicate_rate=1.0)
    for e in events(4):
        out.enqueue(e)
    await out.flush()
    await client.aclose()
    ids = [e["id"] for e in ils.received]
    assert sorted(ids) == sorted([f"evt_{i}" for i in range(4)] * 2)
    assert out.stats.duplicates_sent == 4


async def test_reordering_changes_order_but_loses_nothing() -> None:
    ils = FakeIls()
    out, client = sender(ils, reorder_rate=0.5)
    for e in events(40):
        out.enqueue(e)
    await out.flush()
    await client.aclose()
    ids = [e["id"] for e in ils.received]
    expected = [f"evt_{i}" for i in range(40)]
    assert sorted(ids) == sorted(expected)
    assert ids != expected
    assert out.stats.reordered > 0


async def test_serve_lims_starts_on_a_free_port_and_stops() -> None:
    handle = await serve_lims(lims_config(port=0, telemetry=False, speed=60.0))
    try:
        assert handle.port != 0
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{handle.url}/healthz")
            job = await client.post(f"{handle.url}/jobs", json=an_order(), headers=AUTH)
        assert health.status_code == 200
        assert job.json()["status"] == "accepted"
    finally:
        await handle.stop()
    assert all(task.done() for task in handle.tasks)


def test_cli_arguments_build_the_simulator_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--lab-tenant-id", "lab-9", "--webhook-secret", "s", "--api-key", "k", "--speed", "120",
         "--batch-size", "900", "--duplicate-rate", "0.05", "--ils-base-url", "http://ils:8000/"]
    )  # fmt: skip
    config = config_from(args)
    assert config.webhook_url == "http://ils:8000/api/webhooks/lims/lab-9"
    assert config.speed == 120.0
    assert config.batch_size == 500  # ILS accepts at most 500 events per batch
    assert config.duplicate_rate == 0.05
