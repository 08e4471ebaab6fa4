"""The metrics API on a small lab whose every figure is computed by hand below.

The lab: three progressive 1.60 orders from one practice.
- A: surfacing 30 min, edging 15 min; passes inspection first time; shipped.
- B: same labour; fails its first inspection (axis), breaks at edging and restarts at surfacing,
  passes the second inspection; shipped.
- C: in production (work in process).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ils.runtime import Runtime
from tests.integration.conftest import World
from tests.integration.test_qc_api import GOOD, measured, order_at

MODEL = {
    "currency": "USD",
    "labour_rate_per_hour": {"surfacing": "60.00", "edging": "40.00"},
    "blank_cost": {"progressive/1.60": "20.00"},
    "overhead_per_day": "7.00",
    "prices": [{"product": "progressive/1.60", "price": "150.00"}],
}


async def _labour(runtime: Runtime, lab_id: str, order_id: str, job_id: str) -> None:
    now = runtime.clock()
    rows = []
    for station, start, minutes in (("surfacing", 120, 30), ("edging", 80, 15)):
        began = now - timedelta(minutes=start)
        rows += [
            (lab_id, station, job_id, "in_process", 1, began),
            (lab_id, station, job_id, "done", 2, began + timedelta(minutes=minutes)),
        ]
    async with runtime.db.transaction() as conn:
        await conn.execute("UPDATE orders SET lims_job_id = $2 WHERE id = $1", order_id, job_id)
        await conn.executemany(
            "INSERT INTO station_movements (lab_id, station, job_id, status, sequence,"
            " occurred_at) VALUES ($1, $2, $3, $4, $5, $6)",
            rows,
        )


async def _breakage(runtime: Runtime, lab_id: str, order_id: str) -> None:
    async with runtime.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO breakages (id, lab_id, order_id, job_id, event_id, station, reason_code,"
            " restart_station, occurred_at) VALUES ($1, $2, $3, 'J-B', 'evt-b', 'edging', 'chip',"
            " 'surfacing', $4)",
            str(uuid.uuid4()),
            lab_id,
            order_id,
            runtime.clock(),
        )


async def _inspect(client: httpx.AsyncClient, world: World, order_id: str, body: Any) -> None:
    response = await client.post(
        "/api/qc/inspections", json={"order_id": order_id, "measured": body}, headers=world.lab.auth
    )
    assert response.status_code == 201, response.text


async def _move(client: httpx.AsyncClient, world: World, order_id: str, to: str) -> None:
    moved = await client.post(
        f"/api/orders/{order_id}/transitions", json={"to": to}, headers=world.lab.auth
    )
    assert moved.status_code == 200, moved.text


@pytest.fixture
async def small_lab(client: httpx.AsyncClient, world: World, runtime: Runtime) -> dict[str, str]:
    lab = world.lab.tenant_id
    a = await order_at(client, world, "in_production", "quality_check")
    b = await order_at(client, world, "in_production", "quality_check")
    c = await order_at(client, world, "in_production")
    await _labour(runtime, lab, a["id"], "J-A")
    await _labour(runtime, lab, b["id"], "J-B")
    await _inspect(client, world, a["id"], GOOD)
    await _move(client, world, a["id"], "shipped")
    await _inspect(client, world, b["id"], measured(axis=174))  # back to in_production
    await _breakage(runtime, lab, b["id"])
    await _move(client, world, b["id"], "quality_check")
    await _inspect(client, world, b["id"], GOOD)
    await _move(client, world, b["id"], "shipped")
    return {"a": a["id"], "b": b["id"], "c": c["id"]}


async def _put_model(client: httpx.AsyncClient, world: World) -> None:
    own = {
        "product": "progressive/1.60",
        "price": "140.00",
        "practice_id": world.practice.tenant_id,
    }
    body = {**MODEL, "prices": [*MODEL["prices"], own]}
    response = await client.put("/api/metrics/cost-model", json=body, headers=world.lab.auth)
    assert response.status_code == 200, response.text


async def test_dashboard_and_series_read_the_rollups(
    client: httpx.AsyncClient, world: World, small_lab: dict[str, str]
) -> None:
    response = await client.get("/api/metrics/dashboard?range=last7days", headers=world.lab.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    counts = {k: v["value"] for k, v in body["figures"]["counts"].items()}
    assert counts["orders_created"] == 3 and counts["orders_shipped"] == 2
    assert counts["inspections"] == 3 and counts["inspections_failed"] == 1
    rate = body["figures"]["inspection_pass_rate"]
    assert rate["value"] == pytest.approx(2 / 3) and rate["denominator"] == 3
    assert body["period"]["days"] == 7 and body["previous"]["figures"]["counts"]
    cycle = body["figures"]["mean_cycle_time_hours"]
    assert cycle["n"] == 2 and 0 <= cycle["value"] < 1  # created and shipped within the test
    practice = await client.get("/api/metrics/dashboard", headers=world.practice.auth)
    assert practice.json()["figures"]["counts"]["orders_created"]["value"] == 3
    series = await client.get(
        "/api/analytics/series?metric=orders_created&granularity=day", headers=world.lab.auth
    )
    assert series.status_code == 200, series.text
    points = series.json()["points"]
    assert len(points) == 30 and points[-1]["value"] == 3 and sum(p["value"] for p in points) == 3


async def test_production_kpis_are_computed_from_the_lab_s_records(
    client: httpx.AsyncClient, world: World, small_lab: dict[str, str]
) -> None:
    response = await client.get(
        "/api/metrics/production-kpis?range=last7days", headers=world.lab.auth
    )
    assert response.status_code == 200, response.text
    kpis = response.json()
    assert kpis["first_pass_yield"]["value"] == 0.5  # A passed first time, B did not
    assert kpis["breakage_rate"]["numerator"] == 1 and kpis["breakage_rate"]["denominator"] == 2
    assert set(kpis["breakage_rate_by_station"]) == {"edging"}
    assert kpis["breakage_rate_by_reason"]["chip"]["value"] == 0.5
    assert kpis["wip"]["value"] == 1  # C
    # 45 booked minutes per job: 2 jobs / 1.5 labour hours.
    assert kpis["jobs_per_labour_hour"]["value"] == pytest.approx(2 / 1.5)
    assert kpis["throughput_per_station"]["surfacing"]["numerator"] == 2
    assert kpis["basis"]["jobs_shipped"] == 2


async def test_cost_and_revenue_follow_the_cost_model_and_price_lists(
    client: httpx.AsyncClient, world: World, small_lab: dict[str, str]
) -> None:
    missing = await client.get("/api/metrics/cost-analysis?range=last7days", headers=world.lab.auth)
    assert missing.status_code == 409
    await _put_model(client, world)
    response = await client.get(
        "/api/metrics/cost-analysis?range=last7days", headers=world.lab.auth
    )
    assert response.status_code == 200, response.text
    cost = response.json()
    # Totals from the daily sums: blanks 4 x 20; labour 2 x 40; B's breakage 60; overhead 7 x 7.
    totals = {k: v["amount"] for k, v in cost["totals"].items()}
    assert totals["materials"] == "80.00" and totals["labour"] == "80.00"
    assert totals["breakage"] == "60.00" and totals["overhead"] == "49.00"
    assert totals["total"] == "269.00" and totals["revenue"] == "280.00"  # own price, twice
    assert totals["margin"] == "11.00" and cost["per_order"]["total"]["amount"] == "134.50"
    assert cost["basis"]["overhead_pool"] == "49.00" and cost["orders"] == 2
    response = await client.get(
        "/api/metrics/cost-analysis/orders?range=last7days", headers=world.lab.auth
    )
    assert response.status_code == 200, response.text
    lines = {line["order_id"]: line for line in response.json()["lines"]}
    a, b = lines[small_lab["a"]], lines[small_lab["b"]]
    # A: blanks 2 x 20 = 40; labour 30 min x 60/h + 15 min x 40/h = 40; overhead 49 x 0.75/2.25.
    assert a["materials"]["amount"] == "40.00" and a["labour"]["amount"] == "40.00"
    assert a["overhead"]["amount"] == "16.33" and a["total"]["amount"] == "96.33"
    # B: the broken lens redoes surfacing + edging (40.00) and needs one more blank (20.00).
    assert b["breakage"]["amount"] == "60.00" and b["overhead"]["amount"] == "32.67"
    assert b["total"]["amount"] == "172.67"
    revenue = await client.get("/api/metrics/revenue?range=last7days", headers=world.lab.auth)
    assert revenue.status_code == 200
    body = revenue.json()
    assert body["total"] == {"amount": "280.00", "currency": "USD"}
    [practice] = body["by_practice"]
    assert practice["practice_id"] == world.practice.tenant_id and practice["orders"] == 2


async def test_bad_periods_and_bad_models_are_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    auth = world.lab.auth
    cases = [
        "/api/metrics/production-kpis?from=2026-03-01&to=2026-02-01",
        "/api/metrics/revenue?from=2023-01-01&to=2025-06-01",
        "/api/metrics/dashboard?range=last_century",
        "/api/analytics/series?metric=orders_created&from=2026-02-01&to=2026-01-01",
        "/api/analytics/series?metric=mood",
    ]
    for url in cases:
        response = await client.get(url, headers=auth)
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    bad_model = {**MODEL, "labour_rate_per_hour": {"juggling": "1.00"}}
    response = await client.put("/api/metrics/cost-model", json=bad_model, headers=auth)
    assert response.status_code == 422
    stranger = {**MODEL, "prices": [{**MODEL["prices"][0], "practice_id": str(uuid.uuid4())}]}
    response = await client.put("/api/metrics/cost-model", json=stranger, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/prices/0/practice_id"
    assert (await client.get("/api/metrics/cost-model", headers=auth)).status_code == 404
    forbidden = await client.put("/api/metrics/cost-model", json=MODEL, headers=world.practice.auth)
    assert forbidden.status_code in (403, 404)
