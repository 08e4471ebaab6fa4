"""Demand forecasting over the API: a multi-year simulated history imported, every route, bad input.

The in-process forecaster fits on a worker thread; ``settle`` waits for it so that a test can see
the provisional answer first and the selected model after.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import httpx
import numpy as np
import pytest

from ils.domain.access import Principal, Role, TenantKind
from ils.errors import Forbidden
from ils.runtime import Runtime
from ils.services.forecast_model import InProcessForecaster
from ils.services.forecasting import Forecasting
from ils.sim.demand import daily_order_history
from tests.integration.conftest import World, order_body

STATIONS = 10


def today() -> date:
    return datetime.now(UTC).date()


def simulated(days: int, seed: int = 11) -> list[dict[str, Any]]:
    start = today() - timedelta(days=days)
    rows = daily_order_history(start, days, "US", 220.0, np.random.default_rng(seed))
    return [{"date": d.isoformat(), "orders": n} for d, n in rows]


async def settle(runtime: Runtime) -> None:
    await cast(InProcessForecaster, runtime.gateways.forecasts).settle()


def finite_numbers(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_numbers(v) for v in value)
    return True


async def get(client: httpx.AsyncClient, world: World, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=world.lab.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert finite_numbers(body)
    return body


async def test_every_route_on_two_years_of_imported_history(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    days = simulated(2 * 365 + 20)
    put = await client.put(
        "/api/ai/demand-history", json={"days": days, "country": "US"}, headers=world.lab.auth
    )
    assert put.status_code == 200, put.text
    assert put.json()["stored_days"] == len(days)
    # The selection runs in the background: the first answer is an honest seasonal naive.
    early = await get(client, world, "/api/ai/demand-forecast?days=7")
    assert early["model"]["status"] in ("provisional", "current")
    if early["model"]["status"] == "provisional":
        assert early["model"]["name"] == "seasonal_naive"

    await settle(runtime)
    body = await get(client, world, "/api/ai/demand-forecast?days=14")
    model = body["model"]
    assert model["status"] == "current"
    assert model["history_days"] == len(days)
    assert model["history_end"] == (today() - timedelta(days=1)).isoformat()
    assert body["history"]["imported_days"] == len(days)
    assert len(body["days"]) == 14
    assert body["days"][0]["date"] == today().isoformat()
    for day in body["days"]:
        assert 0 <= day["lower_95"] <= day["lower_80"] <= day["orders"]
        assert day["orders"] <= day["upper_80"] <= day["upper_95"]
    sundays = [d["orders"] for d in body["days"] if date.fromisoformat(d["date"]).weekday() == 6]
    mondays = [d["orders"] for d in body["days"] if date.fromisoformat(d["date"]).weekday() == 0]
    assert max(sundays) < min(mondays)  # the simulator's weekday profile

    patterns = await get(client, world, "/api/ai/seasonal-patterns")
    weekday = {e["label"]: e for e in patterns["weekday"]}
    assert len(weekday) == 7 and len(patterns["yearly"]) == 12
    assert weekday["sunday"]["upper_95"] < weekday["monday"]["lower_95"]
    assert any(h["factor"] < 0.6 for h in patterns["holidays"])  # practices close on holidays

    metrics = await get(client, world, "/api/ai/forecast-metrics")
    assert metrics["origins"] >= 12
    assert metrics["models"][0]["model"] == model["name"]
    assert len(metrics["models"][0]["by_horizon"]) == 30
    assert {c["baseline"] for c in metrics["comparison"]} >= {"seasonal_naive"} - {model["name"]}
    served = metrics["models"][0]["overall"]
    assert served["mase"] > 0 and 0 <= served["coverage_80"] <= 1

    staffing = await get(client, world, "/api/ai/staffing-recommendations?days=7")
    assert len(staffing["days"]) == 7
    assert staffing["sources"]["service_times"]["surfacing"] == "defaults (DOMAIN.md)"
    assert staffing["sources"]["lens_mix"]["orders"] == 0
    first = staffing["days"][0]
    assert len(first["stations"]) == STATIONS
    assert first["orders_at_service_level"] >= first["orders"]
    assert all(s["achieved_service_level"] >= 0.9 - 1e-9 for s in first["stations"])

    surges = await get(client, world, "/api/ai/surge-periods?days=30")
    assert surges["forecast_days"] == 30
    for period in surges["periods"]:
        assert period["peak_orders"] > period["peak_baseline"]
        assert period["binding_stations"][0]["station"] == "surfacing"


async def test_refused_imports_store_nothing(client: httpx.AsyncClient, world: World) -> None:
    good = simulated(60)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"days": [good[0], {**good[1], "orders": -3}]}, "/days/1/orders", "greater-than-equal"),
        ({"days": [good[0], good[1], good[0]]}, "/days/2/date", "duplicate-date"),
        (
            {"days": [{"date": today().isoformat(), "orders": 4}]},
            "/days/0/date",
            "date-not-complete",
        ),
        ({"days": good[:3], "country": "XX"}, "/country", "country-unsupported"),
        ({"days": [{**good[0], "extra": 1}]}, "/days/0/extra", "extra-forbidden"),
        ({"days": []}, "/days", "too-short"),
        (
            {"days": [{"date": "2024-02-30", "orders": 1}]},
            "/days/0/date",
            "date-from-datetime-parsing",
        ),
    ]
    for body, pointer, code in cases:
        response = await client.put("/api/ai/demand-history", json=body, headers=world.lab.auth)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        errors = response.json()["errors"]
        assert {"pointer": pointer, "code": code} in [
            {"pointer": e["pointer"], "code": e["code"]} for e in errors
        ], errors
    nothing = await client.get("/api/ai/demand-forecast", headers=world.lab.auth)
    assert nothing.status_code == 409
    assert nothing.json()["type"] == "/problems/no-demand-history"
    bad_days = await client.get("/api/ai/demand-forecast?days=31", headers=world.lab.auth)
    assert bad_days.status_code == 422
    assert bad_days.json()["errors"][0]["pointer"] == "/query/days"


async def test_untidy_short_and_zero_histories_get_clear_answers(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    short = simulated(20)
    untidy = [short[5], short[0], *short[7:]]  # unsorted, with a gap
    put = await client.put("/api/ai/demand-history", json={"days": untidy}, headers=world.lab.auth)
    assert put.status_code == 200, put.text
    notes = " ".join(put.json()["notes"])
    assert "sorted" in notes and "missing" in notes
    await settle(runtime)
    body = await get(client, world, "/api/ai/demand-forecast?days=30")
    assert body["model"]["name"] == "seasonal_naive"
    assert "too few" in " ".join(body["model"]["notes"])
    assert body["model"]["imputed_days"] == 5  # days 1-4 and 6
    assert len(body["days"]) == 30
    await get(client, world, "/api/ai/forecast-metrics")
    await get(client, world, "/api/ai/seasonal-patterns")
    await get(client, world, "/api/ai/surge-periods")

    zeros = [{**d, "orders": 0} for d in simulated(400)]
    put = await client.put("/api/ai/demand-history", json={"days": zeros}, headers=world.lab.auth)
    assert put.status_code == 200, put.text
    assert "zero" in " ".join(put.json()["notes"])
    await settle(runtime)
    body = await get(client, world, "/api/ai/demand-forecast?days=10")
    assert body["model"]["status"] == "current"
    assert all(d["orders"] == 0 and d["upper_95"] == 0 for d in body["days"])
    metrics = await get(client, world, "/api/ai/forecast-metrics")
    assert metrics["models"] and metrics["models"][0]["overall"]["mase"] is None
    staffing = await get(client, world, "/api/ai/staffing-recommendations?days=3")
    assert all(s["staff_per_shift"] == 0 for s in staffing["days"][0]["stations"])
    assert (await get(client, world, "/api/ai/surge-periods"))["periods"] == []


async def test_settings_roles_and_live_orders(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    practice = await client.get("/api/ai/demand-forecast", headers=world.practice.auth)
    assert practice.status_code == 403
    refused = await client.put(
        "/api/ai/demand-history", json={"days": simulated(10)}, headers=world.practice.auth
    )
    assert refused.status_code == 403
    tech = Principal("u", world.lab.tenant_id, TenantKind.LAB, Role.LAB_TECH)
    with pytest.raises(Forbidden):
        await runtime.forecasting.forecast_days(tech, 7)

    settings = await client.put(
        "/api/ai/forecast-settings",
        json={"country": "gb", "station_labour_minutes": {"surfacing": {"progressive": 9.0}}},
        headers=world.lab.auth,
    )
    assert settings.status_code == 200, settings.text
    assert settings.json()["country"] == "GB"
    bad = await client.put(
        "/api/ai/forecast-settings",
        json={"station_labour_minutes": {"polishing": {"progressive": 9.0}}},
        headers=world.lab.auth,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"].startswith("/station_labour_minutes/polishing")

    yesterday = today() - timedelta(days=1)
    put = await client.put(
        "/api/ai/demand-history",
        json={"days": [{"date": yesterday.isoformat(), "orders": 5}]},
        headers=world.lab.auth,
    )
    assert put.status_code == 200, put.text
    for _ in range(3):
        made = await client.post(
            "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
        )
        assert made.status_code == 201, made.text
    # Tomorrow, today's three live orders are a complete day and join the imported one.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    later = Forecasting(runtime.db, InProcessForecaster(), lambda: tomorrow)
    history = await later.history(world.lab.tenant_id)
    assert history.country == "GB"
    assert list(history.rows) == [(yesterday, 5.0), (today(), 3.0)]
    assert (history.imported_days, history.live_days, history.both_days) == (1, 1, 0)

    staffing = await get(client, world, "/api/ai/staffing-recommendations?days=2")
    sources = staffing["sources"]
    assert sources["service_times"]["surfacing"] == "lab settings"  # the only lens type seen
    assert sources["service_times"]["edging"] == "defaults (DOMAIN.md)"
    assert sources["lens_mix"]["orders"] == 3
    assert sources["lens_mix"]["mix"] == {"progressive": 1.0}
    assert staffing["labour_minutes_per_order"]["surfacing"] == 9.0
    assert staffing["labour_minutes_per_order"]["tinting"] == 0.0  # no tinted job

    await settle(runtime)
    before = await get(client, world, "/api/ai/demand-forecast?days=1")
    refit = await client.post("/api/ai/demand-forecast/refit", headers=world.lab.auth)
    assert refit.status_code == 202, refit.text
    assert "refit is running" in refit.json()["model"]["detail"]
    await settle(runtime)
    after = await get(client, world, "/api/ai/demand-forecast?days=1")
    assert after["model"]["selected_at"] > before["model"]["selected_at"]
    refused = await client.post("/api/ai/demand-forecast/refit", headers=world.practice.auth)
    assert refused.status_code == 403
