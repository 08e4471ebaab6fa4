"""``POST /api/orders/import`` (VCA DCS text) and ``GET /api/orders/{id}/dcs``."""

from __future__ import annotations

import httpx

from tests.integration.conftest import World, order_body

TEXT = {"Content-Type": "text/plain"}


async def test_an_order_exported_as_dcs_imports_as_the_same_order(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await client.post(
        "/api/orders",
        json=order_body(world.lab.tenant_id, clinical_notes='night "driving"\nscreens'),
        headers=world.practice.auth,
    )
    original = made.json()
    exported = await client.get(f"/api/orders/{original['id']}/dcs", headers=world.lab.auth)
    assert exported.status_code == 200 and exported.json()["format"] == "vca-dcs"
    record = exported.json()["dcs"]
    assert "SPH=-2.25;-2.00" in record and "AX=180;175" in record and "LTYPE=PR;PR" in record
    plain = await client.get(
        f"/api/orders/{original['id']}/dcs", headers={**world.lab.auth, "Accept": "text/plain"}
    )
    assert plain.headers["content-type"].startswith("text/plain") and plain.text == record
    imported = await client.post(
        "/api/orders/import", content=record, headers={**world.lab.auth, **TEXT}
    )
    assert imported.status_code == 201, imported.text
    (copy,) = imported.json()["items"]
    assert copy["id"] != original["id"] and copy["practice_id"] == world.practice.tenant_id
    for key in ("rx", "lens", "frame", "patient_ref", "due_date", "priority", "clinical_notes"):
        assert copy[key] == original[key], key
    seen = await client.get(f"/api/orders/{copy['id']}", headers=world.practice.auth)
    assert seen.status_code == 200  # the practice sees the order the lab imported for it


async def test_a_body_with_one_bad_record_creates_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    good = (await client.get(f"/api/orders/{made.json()['id']}/dcs", headers=world.lab.auth)).json()
    bad = good["dcs"].replace("AX=180;175", "AX=;175")  # cylinder without an axis
    before = (await client.get("/api/orders", headers=world.lab.auth)).json()["items"]
    refused = await client.post(
        "/api/orders/import", content=good["dcs"] + bad, headers={**world.lab.auth, **TEXT}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "/records/1/rx/od/axis" in [e["pointer"] for e in refused.json()["errors"]]
    after = (await client.get("/api/orders", headers=world.lab.auth)).json()["items"]
    assert len(after) == len(before)


async def test_who_may_import_and_what_they_must_send(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    record = (
        await client.get(f"/api/orders/{made.json()['id']}/dcs", headers=world.lab.auth)
    ).json()["dcs"]
    as_practice = await client.post(
        "/api/orders/import", content=record, headers={**world.practice.auth, **TEXT}
    )
    assert as_practice.status_code == 403
    as_json = await client.post(
        "/api/orders/import",
        content=record,
        headers={**world.lab.auth, "Content-Type": "application/json"},
    )
    assert as_json.status_code == 415
    stranger = record.replace(world.practice.tenant_id, "00000000-0000-0000-0000-00000000abcd")
    unlinked = await client.post(
        "/api/orders/import", content=stranger, headers={**world.lab.auth, **TEXT}
    )
    assert unlinked.status_code == 422
    assert unlinked.json()["errors"][0]["code"] == "practice-not-linked"
    garbage = await client.post(
        "/api/orders/import", content="not a dcs body", headers={**world.lab.auth, **TEXT}
    )
    assert garbage.status_code == 422
    other = await client.get(
        f"/api/orders/{made.json()['id']}/dcs", headers=world.other_practice.auth
    )
    assert other.status_code == 404
