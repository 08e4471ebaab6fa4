"""The dispensing assistant over HTTP: catalog and history of the chosen lab, refused input."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from ils.db import job_outcomes
from ils.domain.access import TenantKind
from ils.runtime import Runtime
from tests.integration.conftest import PASSWORD, World, login, make_party, order_body
from tests.integration.test_catalog_api import STARTER, catalog_product, put

URL = "/api/ai/dispensing-recommendations"
TIERS = ("good", "better", "best")


def request(**changes: Any) -> dict[str, Any]:
    """A presbyope's progressive Rx (API.md), a full-rim frame, no notes."""
    rx = order_body(str(uuid.uuid4()))["rx"]
    body: dict[str, Any] = {
        "rx": rx,
        "clinical_notes": "",
        "patient": {"age": 52, "occupation": "accountant"},
        "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
    }
    body.update(changes)
    return body


def single_vision(sphere: float) -> dict[str, Any]:
    eye = {"sphere": sphere, "cylinder": -0.50, "axis": 90, "pd": 32.0}
    return {"od": eye, "os": dict(eye)}


CATALOG = [
    *STARTER,
    catalog_product("SV-167-AR", material="1.67", coatings=["hard", "ar"],
                    price={"amount": "149.00", "currency": "USD"}),
    catalog_product("SV-174-AR", material="1.74", coatings=["hard", "ar", "uv"],
                    price={"amount": "229.00", "currency": "USD"}),
    catalog_product("SV-PC-AR", material="polycarbonate", coatings=["hard", "ar"],
                    price={"amount": "79.00", "currency": "USD"}),
    catalog_product("SV-150-POL", coatings=["hard", "polarized", "uv"],
                    price={"amount": "99.00", "currency": "USD"}),
    catalog_product("SV-156-AR", material="1.56", coatings=["hard", "ar"],
                    price={"amount": "59.00", "currency": "USD"}),
    catalog_product("SV-150-AR-BL", coatings=["hard", "ar", "blue_light"],
                    price={"amount": "69.00", "currency": "USD"}),
    catalog_product("PAL-160-PREM", name="Premium progressive", lens_type="progressive",
                    material="1.60", design="premium", coatings=["hard", "ar", "uv"],
                    price={"amount": "349.00", "currency": "USD"}, min_fitting_height=15.0),
    catalog_product("PAL-150", name="Standard progressive", lens_type="progressive",
                    design="standard", coatings=["hard"],
                    price={"amount": "129.00", "currency": "USD"}, min_fitting_height=17.0),
    catalog_product("BIF-150", lens_type="bifocal", coatings=["hard"],
                    price={"amount": "79.00", "currency": "USD"}),
]  # fmt: skip


async def recommend(client: httpx.AsyncClient, auth: dict[str, str], body: Any) -> Any:
    return await client.post(URL, json=body, headers=auth)


async def test_an_empty_catalog_gives_the_clinical_configuration_without_a_product(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await recommend(client, world.practice.auth, request())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["lab_id"] == world.lab.tenant_id
    assert answer["catalog"] == {"version": 0, "products": 0}
    for tier in TIERS:
        rec = answer["tiers"][tier]
        assert rec["product_id"] is None and rec["price"] is None
        assert rec["lens_type"] in ("progressive", "bifocal", "occupational")
        assert any("catalog is empty" in r for r in rec["reasons"])
    assert any("no clinical notes" in w for w in answer["warnings"])


async def test_a_real_catalog_gives_three_distinct_valid_lenses_in_price_order(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await put(client, world.lab.auth, CATALOG)).status_code == 200
    by_sku = {p["sku"]: p for p in CATALOG}
    notes = "Works long hours at a computer. Drives at night and complains of glare."
    answer = (await recommend(client, world.practice.auth, request(clinical_notes=notes))).json()
    chosen = [answer["tiers"][t] for t in TIERS]
    ids = [rec["product_id"] for rec in chosen]
    assert None not in ids and len(set(ids)) == 3
    assert all(by_sku[i]["lens_type"] != "single_vision" for i in ids)  # the Rx has an add
    prices = [float(rec["price"]["amount"]) for rec in chosen]
    assert prices == sorted(prices)
    tags = {i["tag"]: i for i in answer["intents"]}
    assert {"screen_work", "night_driving", "glare_sensitivity"} <= set(tags)
    assert tags["night_driving"]["evidence"] in notes
    assert answer["catalog"]["products"] == len(CATALOG)

    # A high minus single-vision Rx: only 1.67/1.74 lenses, always with AR.
    strong = (await recommend(client, world.lab.auth, request(rx=single_vision(-8.0)))).json()
    for tier in TIERS:
        rec = strong["tiers"][tier]
        if rec["product_id"] is not None:
            assert rec["material"] in ("1.67", "1.74") and "ar" in rec["coatings"]
    assert "very-high-index" in {r["code"] for r in strong["clinical_requirements"]}


async def test_negated_intents_never_drive_a_choice(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await put(client, world.lab.auth, CATALOG)).status_code == 200
    rx = single_vision(-1.5)
    plain = (await recommend(client, world.practice.auth, request(rx=rx))).json()
    notes = (
        "Denies night driving. No glare complaints. Does not play any sport. "
        "Her husband works on a computer all day."
    )
    negated = (
        await recommend(client, world.practice.auth, request(rx=rx, clinical_notes=notes))
    ).json()
    tags = {"night_driving", "glare_sensitivity", "outdoor_sport", "screen_work"}
    assert {i["tag"] for i in negated["intents"]} <= tags
    for intent in negated["intents"]:
        assert intent["negated"] is True, intent
    assert [negated["tiers"][t]["product_id"] for t in TIERS] == [
        plain["tiers"][t]["product_id"] for t in TIERS
    ]
    affirmed = "Plays football every weekend."
    sport = (
        await recommend(client, world.practice.auth, request(rx=rx, clinical_notes=affirmed))
    ).json()
    assert "impact-resistant" in {r["code"] for r in sport["clinical_requirements"]}
    for tier in TIERS:
        assert sport["tiers"][tier]["material"] in ("polycarbonate", "trivex")


async def test_another_tenants_catalog_is_invisible(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    other_lab = await make_party(runtime, client, TenantKind.LAB, "Far Lab")
    assert (await put(client, other_lab.auth, CATALOG)).status_code == 200
    # The practice's own lab has no catalog: the other lab's products never appear.
    answer = (await recommend(client, world.practice.auth, request())).json()
    assert all(answer["tiers"][t]["product_id"] is None for t in TIERS)
    for auth in (world.practice.auth, world.lab.auth):
        hidden = await recommend(client, auth, request(lab_id=other_lab.tenant_id))
        assert hidden.status_code == 404
        assert hidden.headers["content-type"].startswith("application/problem+json")
    lonely = await make_party(runtime, client, TenantKind.PRACTICE, "Lonely Optics")
    unlinked = await recommend(client, lonely.auth, request())
    assert unlinked.status_code == 422
    assert unlinked.json()["errors"][0] == {
        "pointer": "/lab_id",
        "code": "lab-required",
        "detail": "this practice is not linked to any lab",
    }


async def test_bad_input_is_refused_with_pointers(client: httpx.AsyncClient, world: World) -> None:
    long_notes = await recommend(client, world.practice.auth, request(clinical_notes="x" * 10_001))
    assert long_notes.status_code == 422
    assert long_notes.json()["errors"][0]["pointer"] == "/clinical_notes"
    assert long_notes.json()["errors"][0]["code"] == "notes-too-long"

    rx = single_vision(-2.0)
    rx["od"]["sphere"] = -25.0
    del rx["os"]["axis"]
    refused = await recommend(client, world.practice.auth, request(rx=rx))
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    found = {(e["pointer"], e["code"]) for e in refused.json()["errors"]}
    assert found == {("/rx/od/sphere", "sphere-out-of-range"), ("/rx/os/axis", "axis-required")}

    off_grid = single_vision(-2.1)
    assert (await recommend(client, world.practice.auth, request(rx=off_grid))).status_code == 422

    for body, pointer in (
        (request(colour="red"), "/colour"),
        (request(rx={**single_vision(-1.0), "ou": {}}), "/rx/ou"),
        (request(patient={"age": 40, "shoe_size": 9}), "/patient/shoe_size"),
        (request(patient={"age": "forty"}), "/patient/age"),
    ):
        response = await recommend(client, world.practice.auth, body)
        assert response.status_code == 422, body
        assert pointer in [e["pointer"] for e in response.json()["errors"]]

    foreign = await recommend(
        client,
        world.practice.auth,
        request(clinical_notes="El paciente trabaja con la computadora y conduce de noche."),
    )
    assert foreign.status_code == 200
    assert foreign.json()["intents"] == []
    assert any("not in English" in w for w in foreign.json()["warnings"])


async def test_roles_a_supplier_writes_the_catalog_but_may_not_ask(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.post(URL, json=request())).status_code == 401
    made = await client.post(
        "/api/users",
        json={"email": "supply@lens-lab.example", "password": PASSWORD, "role": "supplier"},
        headers=world.lab.auth,
    )
    assert made.status_code == 201, made.text
    supplier = {"Authorization": f"Bearer {await login(client, 'supply@lens-lab.example')}"}
    assert (await put(client, supplier, STARTER)).status_code == 200
    assert (await recommend(client, supplier, request())).status_code == 403
    own = await recommend(client, world.lab.auth, request())
    assert own.status_code == 200 and own.json()["catalog"]["products"] == len(STARTER)


async def finish_orders(
    runtime: Runtime, client: httpx.AsyncClient, world: World, n: int
) -> list[str]:
    ids = []
    for _ in range(n):
        made = await client.post(
            "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    async with runtime.db.connection() as conn:
        await conn.execute("UPDATE orders SET status = 'completed' WHERE id = ANY($1::uuid[])", ids)
    return ids


async def record_non_adapts(runtime: Runtime, world: World, order_ids: list[str]) -> None:
    async with runtime.db.connection() as conn:
        for order_id in order_ids:
            await conn.execute(
                """
                INSERT INTO order_issues (id, order_id, practice_id, lab_id, kind, category,
                    reason, within_warranty, created_at)
                VALUES ($1, $2, $3, $4, 'non_adapt', 'non_adapt', 'swim', true, now())
                """,
                str(uuid.uuid4()),
                order_id,
                world.practice.tenant_id,
                world.lab.tenant_id,
            )


def history_product(sku: str, price: str) -> dict[str, Any]:
    """The configuration of ``order_body``'s lens: progressive 1.60, no design code, AR + hard."""
    return catalog_product(
        sku, lens_type="progressive", material="1.60", design="", coatings=["ar", "hard"],
        price={"amount": price, "currency": "USD"}, min_fitting_height=15.0,
    )  # fmt: skip


async def test_recommendations_use_the_labs_own_manufacturing_history(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    products = [history_product(f"PAL-H{i}", f"{150 + 50 * i}.00") for i in range(3)]
    assert (await put(client, world.lab.auth, products)).status_code == 200
    ids = await finish_orders(runtime, client, world, 32)
    await record_non_adapts(runtime, world, ids[:8])
    answer = (await recommend(client, world.practice.auth, request())).json()
    history = answer["history"]
    assert history["status"] == "fitted" and history["jobs"] == 32
    assert {"remake", "non_adapt"} <= set(history["outcomes"])
    filled = [t for t in TIERS if answer["tiers"][t]["product_id"] is not None]
    assert "good" in filled  # same configuration, same benefit: Better/Best need more benefit
    for tier in filled:
        reasons = answer["tiers"][tier]["reasons"]
        quoted = [r for r in reasons if r.startswith("lab history (configuration+band, 2-4D)")]
        assert len(quoted) == 1, reasons
        assert "non-adapt 25.0%" in quoted[0] and "8/32 jobs" in quoted[0]
        assert "remake 0.0%" in quoted[0]


async def test_a_large_history_is_fitted_in_the_background(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    histories = runtime.dispensing.histories
    histories.inline_limit = 2  # a "large" history: more finished jobs than may be fitted inline
    await finish_orders(runtime, client, world, 3)
    first = (await recommend(client, world.practice.auth, request())).json()["history"]
    assert first["status"] == "pending" and first["jobs"] == 3
    assert "background" in first["reason"]
    for _ in range(100):
        if not histories._tasks:
            break
        await asyncio.sleep(0.02)
    second = (await recommend(client, world.practice.auth, request())).json()["history"]
    assert second["status"] == "fitted" and second["jobs"] == 3


async def test_breakage_records_give_a_breakage_rate(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    async with runtime.db.connection() as conn:
        if not await job_outcomes.records_breakages(conn):
            pytest.skip("this schema has no breakage records (LIMS inbound migration)")
    products = [history_product(f"PAL-B{i}", f"{150 + 50 * i}.00") for i in range(3)]
    assert (await put(client, world.lab.auth, products)).status_code == 200
    ids = await finish_orders(runtime, client, world, 30)
    async with runtime.db.connection() as conn:
        for n, order_id in enumerate(ids[:3]):
            await conn.execute(
                """
                INSERT INTO breakages (id, lab_id, order_id, job_id, event_id, station,
                    reason_code, restart_station, occurred_at)
                VALUES ($1, $2, $3, $4, $5, 'edging', 'chip', 'surfacing', now())
                """,
                str(uuid.uuid4()),
                world.lab.tenant_id,
                order_id,
                f"J-{n}",
                f"evt_{n}",
            )
    answer = (await recommend(client, world.practice.auth, request())).json()
    assert "breakage" in answer["history"]["outcomes"]
    good = answer["tiers"]["good"]["reasons"]
    assert any("breakage 10.0%" in r and "3/30 jobs" in r for r in good), good
