"""The BottleneckModel actor names the constraint from station actors, and a killed one comes
back rebuilt from PostgreSQL with the same constraint and the same ``since``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import ray

from actors.bottleneck import RayBottlenecks, actor_name
from actors.station import RayStations
from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.settings import Settings
from tests.integration.bottleneck.conftest import configure, feed, line_movements
from tests.integration.conftest import World, make_party


async def test_killed_bottleneck_actor_rebuilds_its_constraint(
    ray_cluster: None, cluster_settings: Settings
) -> None:
    port = RayBottlenecks(cluster_settings)
    gateways = Gateways(stations=RayStations(cluster_settings), bottlenecks=port)
    runtime = await Runtime.open(cluster_settings, gateways)
    app = create_app(cluster_settings, runtime=runtime)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as client:
            lab = await make_party(runtime, client, TenantKind.LAB, "Bottleneck Lab")
            world = World(lab, lab, lab)
            await configure(client, world)
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=41)
            end = start + timedelta(minutes=40)
            await feed(runtime, lab.tenant_id, line_movements(start, 25), end)
            await runtime.bottlenecks.settle()
            first = (await client.get("/api/bottlenecks", headers=lab.auth)).json()
            assert [c["station"] for c in first["items"]] == ["surfacing"]
            ray.kill(ray.get_actor(actor_name(lab.tenant_id), namespace="ils"), no_restart=False)
            for _ in range(100):  # the restarted actor answers once it is rebuilt
                try:
                    again = (await client.get("/api/bottlenecks", headers=lab.auth)).json()
                    break
                except ray.exceptions.RayActorError:
                    await asyncio.sleep(0.1)
            assert again["items"][0]["station"] == "surfacing"
            assert again["items"][0]["since"] == first["items"][0]["since"]
            assert again["as_of"] == first["as_of"]
    finally:
        await runtime.close()
