"""The promise of the outbox: orders placed while the LIMS is down all reach it, exactly once.

The outage is real: the lab simulator answers 503 (with ``Retry-After``) to every job for 30 wall
seconds while 200 orders are placed and the relay runs as an asyncio task. Only the relay's
backoff and breaker periods are shortened (1 s open, 0.1-1 s backoff), so the test does not wait
longer than the LIMS is down plus the catch-up.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx

from ils.runtime import Runtime
from ils.services.relay import Relay, RelayPolicy
from tests.integration.conftest import World, order_body
from tests.integration.lims.outbound_support import FAST, configure, simulated_lims

OUTAGE_S = 30.0
ORDERS = 200


async def pending(runtime: Runtime, lab_id: str) -> int:
    async with runtime.db.connection() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE lab_id = $1 AND sent_at IS NULL", lab_id
        )
    return int(count)


async def test_orders_placed_during_a_30s_outage_reach_the_lims_exactly_once(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    lab_id = world.lab.tenant_id
    relay = Relay(
        runtime.db,
        runtime.publisher,
        runtime.settings,
        runtime.clock,
        RelayPolicy(**FAST),  # type: ignore[arg-type]
    )
    async with simulated_lims(lab_id) as lims:
        await configure(client, world.lab.auth, lims.url)
        lims.simulator.outage.start(OUTAGE_S, "503")
        outage_ends = datetime.fromtimestamp(time.time() + OUTAGE_S, UTC)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        ids = []
        for _ in range(ORDERS):
            made = await client.post(
                "/api/orders", json=order_body(lab_id), headers=world.practice.auth
            )
            assert made.status_code == 201
            ids.append(made.json()["id"])
        shown = (await client.get("/api/lab/lims", headers=world.lab.auth)).json()
        assert lims.simulator.outage.active() == "503"  # all placed while it is still down
        assert shown["breaker"]["state"] in ("open", "half_open")
        assert lims.simulator.stats()["jobs_received"] == 0
        for _ in range(int((OUTAGE_S + 60) / 0.25)):  # poll the database until drained
            if not await pending(runtime, lab_id):
                break
            await asyncio.sleep(0.25)
        stop.set()
        await running
        await relay.close()
        stats = lims.simulator.stats()
        jobs = lims.simulator.model.jobs
    assert await pending(runtime, lab_id) == 0
    assert stats["jobs_accepted"] == ORDERS and stats["jobs_received"] == ORDERS
    assert stats["idempotent_replays"] == 0 and stats["jobs_rejected"] == 0
    assert sorted(job.order_id for job in jobs.values()) == sorted(ids)
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT lims_job_id, sent_to_lab_at FROM orders WHERE lab_id = $1", lab_id
        )
    assert {r["lims_job_id"] for r in rows} == set(jobs)
    assert min(r["sent_to_lab_at"] for r in rows) >= outage_ends.replace(microsecond=0)
    shown = (await client.get("/api/lab/lims", headers=world.lab.auth)).json()
    assert shown["breaker"]["state"] == "closed" and shown["outbox"]["pending"] == 0
