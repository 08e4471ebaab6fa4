"""Orders over HTTP (in-process) against real PostgreSQL: create, read, list, transitions."""

from __future__ import annotations

import httpx

from tests.integration.conftest import World, order_body


async def test_a_practice_places_an_order_and_both_tenants_see_it(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending"
    assert order["practice_id"] == world.practice.tenant_id
    assert order["rx"]["od"]["sphere"] == -2.25
    for party in (world.practice, world.lab):
        got = await client.get(f"/api/orders/{order['id']}", headers=party.auth)
        assert got.status_code == 200
        assert got.json()["order_number"] == order["order_number"]
    hidden = await client.get(f"/api/orders/{order['id']}", headers=world.other_practice.auth)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
