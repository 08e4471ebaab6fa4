"""The LIMS relay against real PostgreSQL and simulated / misbehaving LIMSes on loopback."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from ils.domain.access import TenantKind
from ils.lims.client import ClientPolicy, LimsClient
from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from ils.services.relay import Relay, RelayPolicy
from tests.integration.conftest import Party, World, make_party, order_body
from tests.integration.lims.outbound_support import (
    FAST,
    MovableClock,
    configure,
    misbehaving_server,
    simulated_lims,
)


def fast_relay(
    runtime: Runtime, clock: Any = None, policy: dict[str, Any] | None = None, **kwargs: Any
) -> Relay:
    return Relay(
        runtime.db,
        runtime.publisher,
        runtime.settings,
        clock or runtime.clock,
        RelayPolicy(**(FAST | (policy or {}))),  # type: ignore[arg-type]
        **kwargs,
    )


async def place(client: httpx.AsyncClient, practice: Party, lab_id: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        made = await client.post("/api/orders", json=order_body(lab_id), headers=practice.auth)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


async def outbox_rows(runtime: Runtime, lab_id: str) -> list[dict[str, Any]]:
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT order_id, attempts, sent_at, failed_at, last_error FROM outbox"
            " WHERE lab_id = $1 ORDER BY id",
            lab_id,
        )
    return [dict(r) for r in rows]


async def test_sent_orders_get_their_job_and_an_event_in_both_logs(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    ids = await place(client, world.practice, world.lab.tenant_id, 3)
    relay = fast_relay(runtime)
    async with simulated_lims(world.lab.tenant_id) as lims:
        await configure(client, world.lab.auth, lims.url)
        report = await relay.drain_once()
        await relay.close()
        stats = lims.simulator.stats()
    assert report["stats"]["sent"] == 3 and stats["jobs_accepted"] == 3
    jobs = set()
    for order_id in ids:
        order = (await client.get(f"/api/orders/{order_id}", headers=world.practice.auth)).json()
        assert order["lims_job_id"] and order["sent_to_lab_at"] and order["status"] == "pending"
        jobs.add(order["lims_job_id"])
        for party in (world.practice, world.lab):
            timeline = await client.get(f"/api/orders/{order_id}/timeline", headers=party.auth)
            types = [e["type"] for e in timeline.json()["items"]]
            assert types == ["order.created", "order.sent_to_lab"]
    assert len(jobs) == 3 and jobs <= set(lims.simulator.model.jobs)
    assert all(r["sent_at"] is not None for r in await outbox_rows(runtime, world.lab.tenant_id))
    published = [e.type for e in runtime.publisher.events]  # type: ignore[attr-defined]
    assert published.count("order.sent_to_lab") == 6  # both tenants' logs
    assert (await relay.drain_once())["started"] == []  # nothing left: nothing sent again


async def test_a_lab_with_a_closed_breaker_gets_several_orders_at_once_within_the_limit(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await place(client, world.practice, world.lab.tenant_id, 12)
    in_flight, most = 0, 0

    class Counting(LimsClient):
        async def submit(self, order: dict[str, Any], idempotency_key: str) -> Any:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            try:
                await asyncio.sleep(0.05)
                return await super().submit(order, idempotency_key)
            finally:
                in_flight -= 1

    async with simulated_lims(world.lab.tenant_id) as lims:
        await configure(client, world.lab.auth, lims.url)
        policy = {"concurrency": 4, "drain_wait_s": 60.0}  # wait for the whole batch, however slow
        relay = fast_relay(runtime, policy=policy, client_factory=Counting)
        report = await relay.drain_once()
        await relay.close()
        assert lims.simulator.stats()["jobs_accepted"] == 12
    assert report["stats"]["sent"] == 12
    assert most == 4  # the window grew 1, 2, 4 with the answers, and never past the limit


async def test_a_4xx_puts_the_order_on_hold_with_the_lims_reason(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    (order_id,) = await place(client, world.practice, world.lab.tenant_id, 1)
    await configure(client, world.lab.auth, "http://lims.test")

    def refuse(request: httpx.Request) -> httpx.Response:
        detail = {"detail": "frame out of stock"}
        return httpx.Response(422, json=detail)

    def factory(base: str, key: str, policy: ClientPolicy) -> LimsClient:
        return LimsClient(base, key, policy, transport=httpx.MockTransport(refuse))

    relay = fast_relay(runtime, client_factory=factory)
    await relay.drain_once()
    await relay.close()
    order = (await client.get(f"/api/orders/{order_id}", headers=world.practice.auth)).json()
    assert order["status"] == "on_hold" and order["held_from"] == "pending"
    assert order["lims_job_id"] is None
    (row,) = await outbox_rows(runtime, world.lab.tenant_id)
    assert row["failed_at"] is not None and "frame out of stock" in row["last_error"]
    timeline = await client.get(f"/api/orders/{order_id}/timeline", headers=world.practice.auth)
    changed = timeline.json()["items"][-1]
    assert changed["type"] == "order.status_changed"
    assert "frame out of stock" in changed["reason"]
    assert isinstance(runtime.publisher, RecordingPublisher)
    assert [e.type for e in runtime.publisher.events][-2:] == ["order.status_changed"] * 2
    shown = (await client.get("/api/lab/lims", headers=world.lab.auth)).json()
    assert shown["breaker"]["state"] == "closed"  # the LIMS answered: it is up


async def test_misbehaving_or_hanging_labs_never_block_another_lab(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    labs: dict[str, Party] = {}
    for kind in ("hang", "garbage", "reset", "not_http", "healthy"):
        lab = await make_party(runtime, client, TenantKind.LAB, f"Lab {kind.replace('_', ' ')}")
        await runtime.identity.link(lab.tenant_id, world.practice.tenant_id, runtime.clock())
        labs[kind] = lab
        await place(client, world.practice, lab.tenant_id, 2)
    # One send at a time: the hanging lab's two sends then outlast the drain's wait.
    relay = fast_relay(runtime, policy={"concurrency": 1})
    async with (
        simulated_lims(labs["hang"].tenant_id) as hanging,
        simulated_lims(labs["healthy"].tenant_id, seed=1) as healthy,
        misbehaving_server("garbage") as garbage,
        misbehaving_server("reset") as reset,
        misbehaving_server("not_http") as not_http,
    ):
        hanging.simulator.outage.start(60.0, "hang")
        urls = {"hang": hanging.url, "healthy": healthy.url, "garbage": garbage}
        urls |= {"reset": reset, "not_http": not_http}
        for kind, lab in labs.items():
            await configure(client, lab.auth, urls[kind])
        report = await relay.drain_once()  # returns while the hanging lab's send still waits
        assert labs["hang"].tenant_id in report["busy"]
        assert healthy.simulator.stats()["jobs_accepted"] == 2
        for kind in ("garbage", "reset", "not_http"):
            rows = await outbox_rows(runtime, labs[kind].tenant_id)
            assert all(r["attempts"] >= 1 and r["sent_at"] is None for r in rows), kind
            assert all(r["failed_at"] is None and r["last_error"] for r in rows), kind
        hanging.simulator.outage.start(0.0, "hang")
        await relay.close()
    for kind in ("garbage", "reset", "not_http"):
        statuses = await client.get(
            "/api/orders", params={"status": "on_hold"}, headers=labs[kind].auth
        )
        assert statuses.json()["items"] == []  # a broken LIMS is not the order's fault


async def test_a_relay_that_dies_after_the_lims_accepted_does_not_make_a_second_job(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    (order_id,) = await place(client, world.practice, world.lab.tenant_id, 1)

    class Crash(Exception):
        pass

    class DiesAfterSending(LimsClient):
        async def submit(self, order: dict[str, Any], idempotency_key: str) -> Any:
            await super().submit(order, idempotency_key)
            raise Crash("the relay process died before it committed")

    clock = MovableClock()
    async with simulated_lims(world.lab.tenant_id) as lims:
        await configure(client, world.lab.auth, lims.url)
        first = fast_relay(runtime, clock, client_factory=DiesAfterSending)
        await first.drain_once()
        await first.close()
        assert lims.simulator.stats()["jobs_accepted"] == 1
        (row,) = await outbox_rows(runtime, world.lab.tenant_id)
        assert row["sent_at"] is None  # the answer was lost with the process
        second = fast_relay(runtime, clock)
        assert (await second.drain_once())["started"] == []  # the row is still leased
        clock.offset = timedelta(seconds=second.policy.lease_s + 1)
        await second.drain_once()
        await second.drain_once()
        await second.close()
        stats = lims.simulator.stats()
    assert stats["jobs_accepted"] == 1 and stats["idempotent_replays"] == 1
    (job_id,) = list(lims.simulator.model.jobs)
    order = (await client.get(f"/api/orders/{order_id}", headers=world.practice.auth)).json()
    assert order["lims_job_id"] == job_id
    (row,) = await outbox_rows(runtime, world.lab.tenant_id)
    assert row["sent_at"] is not None


async def test_an_open_breaker_claims_nothing_and_shows_on_the_api(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await place(client, world.practice, world.lab.tenant_id, 6)
    clock = MovableClock()
    async with simulated_lims(world.lab.tenant_id) as lims:
        lims.simulator.outage.start(600.0, "503")
        await configure(client, world.lab.auth, lims.url)
        relay = fast_relay(runtime, clock)
        await relay.drain_once()
        shown = (await client.get("/api/lab/lims", headers=world.lab.auth)).json()
        assert shown["breaker"]["state"] == "open" and "503" in shown["last_error"]
        rows = await outbox_rows(runtime, world.lab.tenant_id)
        assert sum(r["attempts"] for r in rows) == 3  # threshold reached, the rest untouched
        assert (await relay.drain_once())["started"] == []
        assert relay.stats.skipped_open >= 1 or (await relay.drain_once())["started"] == []
        lims.simulator.outage.start(0.0, "503")
        clock.offset = timedelta(seconds=2)  # past open_s: half-open, one probe
        await relay.drain_once()
        breaker = relay.breaker(world.lab.tenant_id)
        assert breaker is not None and str(breaker.state) == "closed"
        clock.offset = timedelta(seconds=601)  # the failed ones were told Retry-After: 600
        for _ in range(3):
            await relay.drain_once()
        await relay.close()
        assert lims.simulator.stats()["jobs_accepted"] == 6
