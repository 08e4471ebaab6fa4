"""The lab catalog over HTTP: bulk upsert by SKU (all or nothing), search, pages, tenancy."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ils.domain.access import TenantKind
from ils.runtime import Runtime
from tests.integration.conftest import World, make_party


def catalog_product(sku: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": sku,
        "name": f"Lens {sku}",
        "lens_type": "single_vision",
        "material": "cr39",
        "design": "standard",
        "coatings": ["hard"],
        "price": {"amount": "40.00", "currency": "USD"},
        "in_stock": True,
        "min_fitting_height": None,
    }
    body.update(changes)
    return body


STARTER = [
    catalog_product("SV-150", price={"amount": "39.00", "currency": "USD"}),
    catalog_product(
        "SV-160-AR",
        material="1.60",
        coatings=["hard", "ar"],
        price={"amount": "89.00", "currency": "USD"},
    ),
    catalog_product(
        "PAL-160",
        name="Digital progressive",
        lens_type="progressive",
        material="1.60",
        design="digital",
        coatings=["hard", "ar"],
        price={"amount": "219.00", "currency": "USD"},
        min_fitting_height=16.0,
    ),
]


async def put(client: httpx.AsyncClient, auth: dict[str, str], products: list[Any]) -> Any:
    return await client.put("/api/catalog/products", json={"products": products}, headers=auth)


async def skus(client: httpx.AsyncClient, auth: dict[str, str], **params: Any) -> list[str]:
    response = await client.get("/api/catalog/products", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [p["sku"] for p in response.json()["items"]]


async def test_a_lab_upserts_its_catalog_and_searches_it(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await put(client, world.lab.auth, STARTER)
    assert response.status_code == 200, response.text
    assert response.json() == {"upserted": 3, "version": 1}
    assert await skus(client, world.lab.auth) == ["SV-150", "SV-160-AR", "PAL-160"]
    assert await skus(client, world.lab.auth, query="1.60 AR") == ["SV-160-AR", "PAL-160"]
    assert await skus(client, world.lab.auth, query="digital progressive") == ["PAL-160"]
    assert await skus(client, world.lab.auth, query="polarized") == []

    cheaper = catalog_product("PAL-160", lens_type="progressive", material="1.60", in_stock=False)
    again = await put(client, world.lab.auth, [cheaper])
    assert again.json() == {"upserted": 1, "version": 2}
    listed = await client.get("/api/catalog/products", headers=world.lab.auth)
    items = {p["sku"]: p for p in listed.json()["items"]}
    assert items["PAL-160"]["price"] == {"amount": "40.00", "currency": "USD"}
    assert items["PAL-160"]["in_stock"] is False
    assert len(items) == 3


async def test_pages_follow_the_cursor_without_gaps_or_repeats(
    client: httpx.AsyncClient, world: World
) -> None:
    products = [
        catalog_product(f"P{i:02d}", price={"amount": f"{10 + i % 4}.00", "currency": "USD"})
        for i in range(11)
    ]
    assert (await put(client, world.lab.auth, products)).status_code == 200
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get("/api/catalog/products", params=params, headers=world.lab.auth)
        ).json()
        seen += [p["sku"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(products, key=lambda p: (float(p["price"]["amount"]), p["sku"]))
    assert seen == [p["sku"] for p in expected]
    bad = await client.get(
        "/api/catalog/products", params={"cursor": "not-a-cursor"}, headers=world.lab.auth
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/query/cursor"


async def test_one_bad_product_refuses_the_batch_with_pointers(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await put(client, world.lab.auth, STARTER[:1])).status_code == 200
    schema = await put(
        client, world.lab.auth, [catalog_product("OK-1"), catalog_product("X", material="glass")]
    )
    assert schema.status_code == 422
    assert schema.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in schema.json()["errors"]] == ["/products/1/material"]

    unknown = await put(
        client, world.lab.auth, [catalog_product("OK-1"), catalog_product("Y", coatings=["gold"])]
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {
            "pointer": "/products/1/coatings/0",
            "code": "coating-unknown",
            "detail": unknown.json()["errors"][0]["detail"],
        }
    ]

    nul = await put(client, world.lab.auth, [catalog_product("OK-1", name="bad\x00name")])
    assert nul.status_code == 422
    assert nul.json()["errors"][0]["pointer"] == "/products/0/name"
    query = await client.get(
        "/api/catalog/products", params={"query": "a\x00b"}, headers=world.lab.auth
    )
    assert query.status_code == 422

    extra = await put(client, world.lab.auth, [catalog_product("OK-1", colour="blue")])
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["pointer"] == "/products/0/colour"

    euros = await put(
        client,
        world.lab.auth,
        [catalog_product("OK-1", price={"amount": "30.00", "currency": "EUR"})],
    )
    assert euros.status_code == 422
    assert euros.json()["errors"][0]["code"] == "currency-mismatch"
    # Nothing of the refused batches was stored.
    assert await skus(client, world.lab.auth) == ["SV-150"]


async def test_who_may_write_and_read_whose_catalog(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    assert (await put(client, world.lab.auth, STARTER)).status_code == 200
    refused = await put(client, world.practice.auth, STARTER)
    assert refused.status_code == 403

    # A practice linked to one lab reads that lab's catalog, with or without lab_id.
    assert len(await skus(client, world.practice.auth)) == 3
    assert len(await skus(client, world.practice.auth, lab_id=world.lab.tenant_id)) == 3

    other_lab = await make_party(runtime, client, TenantKind.LAB, "Other Lab")
    own = [catalog_product("OTHER-1")]
    assert (await put(client, other_lab.auth, own)).status_code == 200
    assert await skus(client, other_lab.auth) == ["OTHER-1"]
    assert "OTHER-1" not in await skus(client, world.lab.auth)
    for auth, lab in (
        (world.practice.auth, other_lab.tenant_id),
        (world.lab.auth, other_lab.tenant_id),
    ):
        hidden = await client.get("/api/catalog/products", params={"lab_id": lab}, headers=auth)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"].startswith("application/problem+json")

    # Linked to two labs, a practice must say which.
    await runtime.identity.link(other_lab.tenant_id, world.practice.tenant_id, runtime.clock())
    ambiguous = await client.get("/api/catalog/products", headers=world.practice.auth)
    assert ambiguous.status_code == 422
    assert ambiguous.json()["errors"][0]["code"] == "lab-required"
    assert await skus(client, world.practice.auth, lab_id=other_lab.tenant_id) == ["OTHER-1"]


async def test_concurrent_batches_with_the_same_skus_both_commit(
    client: httpx.AsyncClient, world: World
) -> None:
    batch = [catalog_product(f"C{i:03d}") for i in range(200)]
    first, second = await asyncio.gather(
        put(client, world.lab.auth, batch), put(client, world.lab.auth, batch[::-1])
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert {first.json()["version"], second.json()["version"]} == {1, 2}
    assert len(await skus(client, world.lab.auth, limit=500)) == 200
