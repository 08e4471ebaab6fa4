"""The figures upkeep: labs whose log moved are caught up without a metrics read, once."""

from __future__ import annotations

import httpx

from ils.db import lab_figures
from ils.runtime import Runtime
from tests.integration.conftest import World, order_body


async def _position(runtime: Runtime, lab_id: str) -> tuple[int, int | None]:
    async with runtime.db.connection() as conn:
        return await lab_figures.position(conn, lab_id)


async def test_upkeep_catches_up_the_labs_that_moved_and_only_those(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    lab_id, auth = world.lab.tenant_id, world.practice.auth
    for _ in range(3):
        made = await client.post("/api/orders", json=order_body(lab_id), headers=auth)
        assert made.status_code == 201, made.text
    head, seq = await _position(runtime, lab_id)
    assert seq is None or seq < head  # nothing has read the lab's figures yet

    assert lab_id in await runtime.housekeeping.once()
    head, seq = await _position(runtime, lab_id)
    assert seq == head
    assert lab_id not in await runtime.housekeeping.once()  # nothing new: nothing to do

    made = await client.post("/api/orders", json=order_body(lab_id), headers=auth)
    assert made.status_code == 201
    assert lab_id in await runtime.housekeeping.once()
    assert runtime.housekeeping.stats.orders_refreshed >= 4
    shown = await client.get("/api/metrics/production-kpis", headers=world.lab.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json()["basis"]["orders_refreshed"] == 0  # the read found its figures current
