"""``ils up --demo``: the simulator runs as the demo lab's LIMS and orders flow to it."""

from __future__ import annotations

import asyncio

import httpx

from bench.scratch import free_port
from ils.demo import DemoPractice, DemoSetup
from ils.runtime import Runtime
from tests.integration.conftest import PASSWORD, World, order_body


async def test_demo_starts_the_simulator_as_the_labs_lims_and_stops_it(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    settings = runtime.settings.model_copy(update={"sim_port": free_port(), "sim_speed": 1.0})
    setup = DemoSetup(world.lab.tenant_id, world.practice.tenant_id, world.lab.webhook_secret or "")
    stoppers = await asyncio.to_thread(setup.start_background, settings, "http://127.0.0.1:9")
    try:
        shown = (await client.get("/api/lab/lims", headers=world.lab.auth)).json()
        assert shown["base_url"] == f"http://127.0.0.1:{settings.sim_port}"
        made = await client.post(
            "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
        )
        await runtime.relay.drain_once()
        order = (
            await client.get(f"/api/orders/{made.json()['id']}", headers=world.lab.auth)
        ).json()
        assert order["lims_job_id"]
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"{shown['base_url']}/_control/stats")).json()
        assert stats["jobs_accepted"] == 1
    finally:
        for stop in stoppers:
            await asyncio.to_thread(stop)
    async with httpx.AsyncClient() as http:
        try:
            await http.get(f"http://127.0.0.1:{settings.sim_port}/healthz", timeout=1)
            stopped = False
        except httpx.TransportError:
            stopped = True
    assert stopped


async def test_the_demo_practice_places_valid_orders_and_logs_in_again_when_its_token_expires(
    client: httpx.AsyncClient, world: World
) -> None:
    practice = DemoPractice(
        "http://ils.test", world.lab.tenant_id, (world.practice.email, PASSWORD), 60.0, seed=3
    )
    made = [await practice.place(client) for _ in range(20)]
    assert all(m is not None for m in made), "a synthetic order was refused"
    assert practice.placed == 20
    assert {m["practice_id"] for m in made if m} == {world.practice.tenant_id}
    assert len({m["lens"]["type"] for m in made if m}) > 1  # the product mix, not one order
    practice._token = "expired"
    assert await practice.place(client) is None  # refused once (401) ...
    assert await practice.place(client) is not None  # ... then it logs in again
    listed = (await client.get("/api/orders", headers=world.practice.auth)).json()
    assert len(listed["items"]) == 21
