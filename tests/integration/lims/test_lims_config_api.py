"""``GET``/``PUT /api/lab/lims``: who may, what is shown, and the key sealed at rest."""

from __future__ import annotations

import httpx

from ils.crypto import unseal
from ils.runtime import Runtime
from tests.integration.conftest import World, order_body
from tests.integration.lims.outbound_support import API_KEY, configure


async def test_lab_admin_configures_and_sees_it_without_the_key(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    empty = await client.get("/api/lab/lims", headers=world.lab.auth)
    assert empty.status_code == 200 and empty.json()["configured"] is False
    await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    shown = await configure(client, world.lab.auth, "http://lims.example:8700/")
    assert shown["base_url"] == "http://lims.example:8700"
    assert shown["breaker"]["state"] == "closed"
    assert shown["outbox"]["pending"] == 1 and shown["outbox"]["failed"] == 0
    assert API_KEY not in str(shown) and "api_key" not in shown
    async with runtime.db.connection() as conn:
        sealed = await conn.fetchval(
            "SELECT api_key_sealed FROM lab_lims WHERE lab_id = $1", world.lab.tenant_id
        )
    assert API_KEY not in sealed and unseal(runtime.settings, sealed) == API_KEY
    again = await client.get("/api/lab/lims", headers=world.lab.auth)
    assert again.json()["base_url"] == "http://lims.example:8700"


async def test_only_a_lab_admin_may_change_it_and_bad_bodies_change_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    await configure(client, world.lab.auth, "http://lims.example:8700")
    good = {"base_url": "http://other.example", "api_key": API_KEY}
    practice = await client.put("/api/lab/lims", json=good, headers=world.practice.auth)
    assert practice.status_code == 403
    assert (await client.get("/api/lab/lims", headers=world.practice.auth)).status_code in (
        403,
        422,
    )
    for body, pointer in (
        ({"base_url": "ftp://x", "api_key": API_KEY}, "/base_url"),
        ({"base_url": "http://x.example", "api_key": "short"}, "/api_key"),
        ({**good, "extra": 1}, "/extra"),
        ({"api_key": API_KEY}, "/base_url"),
    ):
        refused = await client.put("/api/lab/lims", json=body, headers=world.lab.auth)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert pointer in [e["pointer"] for e in refused.json()["errors"]]
    shown = (await client.get("/api/lab/lims", headers=world.lab.auth)).json()
    assert shown["base_url"] == "http://lims.example:8700"
    assert (await client.put("/api/lab/lims", json=good)).status_code == 401


async def test_routes_are_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"get", "put"} <= set(paths["/api/lab/lims"])
    assert "post" in paths["/api/orders/import"] and "get" in paths["/api/orders/{order_id}/dcs"]
    body = paths["/api/orders/import"]["post"]["requestBody"]["content"]
    assert "text/plain" in body
