"""Real-time on Ray: TenantRoom actors and the gateway app, killed mid-stream, lose nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ils.settings import Settings
from tests.cluster.test_api_over_serve import _tenants
from tests.cluster.watching import Watcher, login
from tests.integration.conftest import order_body


async def _kill_room(tenant_id: str) -> None:
    import ray

    from actors.naming import NAMESPACE
    from actors.room import room_name

    handle = ray.get_actor(room_name(tenant_id), namespace=NAMESPACE)
    ray.kill(handle, no_restart=False)


async def _kill_gateway_replica() -> bool:
    import ray

    for actor in ray.util.list_named_actors(all_namespaces=True):
        if "gateway" in actor["name"] and "REPLICA" in actor["name"].upper():
            ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]), no_restart=True)
            return True
    return False


@pytest.mark.timeout(240)
async def test_rooms_and_gateways_die_mid_stream_and_clients_miss_nothing(
    api_url: str, cluster_settings: Settings
) -> None:
    lab_id, practice_id = await _tenants(cluster_settings)
    ws_url = api_url.replace("http://", "ws://") + "/ws"
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        practice = {
            "Authorization": f"Bearer {await login(client, 'admin@serve-practice.example')}"
        }
        watchers = [
            Watcher(ws_url, await login(client, "admin@serve-practice.example")),
            Watcher(ws_url, await login(client, "admin@serve-lab.example")),
        ]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(stop)) for w in watchers]
        await asyncio.sleep(2)

        async def place(n: int) -> None:
            for _ in range(n):
                made = await client.post("/api/orders", json=order_body(lab_id), headers=practice)
                assert made.status_code == 201, made.text

        await place(5)
        await _kill_room(practice_id)
        await _kill_room(lab_id)
        await place(5)
        assert await _kill_gateway_replica()
        await place(5)
        deadline = asyncio.get_running_loop().time() + 90
        while any(len(w.seqs) < 15 for w in watchers):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)
    for watcher in watchers:
        assert watcher.seqs == list(range(1, 16)), (watcher.seqs, watcher.reconnects)
    assert any(w.reconnects for w in watchers)  # the gateway kill really dropped sockets


async def test_the_gateway_refuses_websocket_compression(
    api_url: str, cluster_settings: Settings
) -> None:
    """Browsers offer permessage-deflate; the gateway answers with plain frames (ws_compression
    is off by default), and the socket works as usual."""
    import json

    import websockets

    from ils.db.database import Database
    from ils.domain.access import TenantKind
    from ils.services.identity import Identity
    from ils.services.ports import utc_now
    from tests.integration.conftest import PASSWORD

    db = await Database.connect(cluster_settings, min_size=1, max_size=1)
    try:
        email = "admin@plain-frames-lab.example"
        await Identity(db, cluster_settings).create_tenant(
            TenantKind.LAB, "Plain Frames Lab", email, PASSWORD, utc_now()
        )
    finally:
        await db.close()
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        token = await login(client, email)
    ws_url = api_url.replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url, open_timeout=30, compression="deflate") as ws:
        assert ws.protocol.extensions == []
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert ready["type"] == "ready"
