"""Telemetry ingest over the API: verdicts for bad input, COPY into PostgreSQL, machine isolation.

Healthy readings come from the degradation generator with every failure mode switched off
(``HEALTHY``: no wear, no sudden failures, no drift, no spikes), one reading per 10 minutes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from ils.runtime import Runtime
from ils.services.anomaly_model import InProcessAnomaly
from ils.sim.telemetry import DegradationParams, Machine, TelemetryGenerator
from tests.integration.conftest import World

HEALTHY = DegradationParams(gradual_rate=0.0, sudden_rate=0.0, drift_rate=0.0, spike_prob=0.0)


def healthy_readings(
    machine: str, kind: str, start: datetime, days: float, seed: int = 4
) -> list[dict[str, Any]]:
    gen = TelemetryGenerator([Machine(machine, kind)], np.random.default_rng(seed), HEALTHY)
    window = gen.readings_between(start, start + timedelta(days=days), timedelta(minutes=10))
    return [{**r, "at": r["at"].isoformat()} for r in window.readings]


async def register(client: httpx.AsyncClient, world: World, eid: str, kind: str = "edger") -> None:
    body = {"id": eid, "station": "edging", "kind": kind}
    response = await client.post("/api/equipment", json=body, headers=world.lab.auth)
    assert response.status_code == 201, response.text


async def send(client: httpx.AsyncClient, world: World, readings: list[dict[str, Any]]) -> Any:
    # Sent as raw JSON text so that NaN and Infinity reach the server as the devices send them.
    content = json.dumps({"readings": readings})
    headers = {**world.lab.auth, "content-type": "application/json"}
    return await client.post("/api/telemetry", content=content, headers=headers)


async def test_equipment_registry(client: httpx.AsyncClient, world: World) -> None:
    await register(client, world, "edger-1")
    again = await client.post(
        "/api/equipment",
        json={"id": "edger-1", "station": "edging", "kind": "edger"},
        headers=world.lab.auth,
    )
    assert again.status_code == 409
    bad = await client.post(
        "/api/equipment",
        json={"id": "x y", "station": "nowhere", "kind": "edger", "colour": "red"},
        headers=world.lab.auth,
    )
    assert bad.status_code == 422
    pointers = {e["pointer"] for e in bad.json()["errors"]}
    assert {"/id", "/station", "/colour"} <= pointers
    practice = await client.post(
        "/api/equipment",
        json={"id": "p-1", "station": "edging", "kind": "edger"},
        headers=world.practice.auth,
    )
    assert practice.status_code == 403
    listed = (await client.get("/api/equipment", headers=world.lab.auth)).json()["items"]
    assert [m["id"] for m in listed] == ["edger-1"]
    assert listed[0]["metrics"] == [
        "vibration_mm_s",
        "spindle_temp_c",
        "motor_current_a",
        "cycle_time_s",
    ]


async def test_bad_readings_get_verdicts_and_change_nothing(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    await register(client, world, "edger-1")
    now = runtime.clock()
    good = {"vibration_mm_s": 1.6, "spindle_temp_c": 38.0, "motor_current_a": 8.0}
    at = (now - timedelta(minutes=30)).isoformat()
    readings = [
        {"equipment_id": "edger-1", "at": at, "metrics": good},
        {"equipment_id": "ghost", "at": at, "metrics": good},
        {"equipment_id": "edger-1", "at": (now + timedelta(days=2)).isoformat(), "metrics": good},
        {"equipment_id": "edger-1", "at": (now - timedelta(days=40)).isoformat(), "metrics": good},
        {
            "equipment_id": "edger-1",
            "at": (now - timedelta(minutes=20)).isoformat(),
            "metrics": {**good, "vibration_mm_s": float("nan")},
        },
        {
            "equipment_id": "edger-1",
            "at": (now - timedelta(minutes=19)).isoformat(),
            "metrics": {**good, "spindle_temp_c": float("inf")},
        },
        {
            "equipment_id": "edger-1",
            "at": (now - timedelta(minutes=18)).isoformat(),
            "metrics": {"spindle_temp_f": 100.4},
        },
        {"equipment_id": "edger-1", "at": at, "metrics": good},
    ]
    response = await send(client, world, readings)
    assert response.status_code == 200, response.text
    body = response.json()
    codes = [(v["outcome"], v["code"]) for v in body["verdicts"]]
    assert codes == [
        ("accepted", None),
        ("rejected", "unknown-equipment"),
        ("rejected", "future-timestamp"),
        ("rejected", "stale-timestamp"),
        ("rejected", "non-finite-value"),
        ("rejected", "non-finite-value"),
        ("quarantined", "unit-changed"),
        ("rejected", "out-of-order"),
    ]
    assert (body["accepted"], body["rejected"], body["quarantined"]) == (1, 6, 1)
    async with runtime.db.connection() as conn:
        rows = await conn.fetch("SELECT equipment_id, metric, value FROM telemetry")
        held = await conn.fetch("SELECT code, reading FROM telemetry_quarantine")
    assert sorted((r["metric"], r["value"]) for r in rows) == sorted(good.items())
    assert [(h["code"], h["reading"]["metrics"]) for h in held] == [
        ("unit-changed", {"spindle_temp_f": 100.4})
    ]


async def test_schema_errors_are_422_with_pointers(client: httpx.AsyncClient, world: World) -> None:
    too_many = [{"equipment_id": "e", "at": "2026-01-01T00:00:00Z", "metrics": {"a": 1.0}}] * 5001
    response = await client.post(
        "/api/telemetry", json={"readings": too_many}, headers=world.lab.auth
    )
    assert response.status_code in (413, 422)
    naive = [{"equipment_id": "e", "at": "2026-01-01T00:00:00", "metrics": {"a": "x"}}]
    response = await client.post("/api/telemetry", json={"readings": naive}, headers=world.lab.auth)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"/readings/0/at", "/readings/0/metrics/a"} <= pointers


async def test_a_flood_is_quarantined_and_other_machines_are_untouched(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    await register(client, world, "edger-1")
    await register(client, world, "edger-2")
    now = runtime.clock()
    start = now - timedelta(days=3)
    calm = healthy_readings("edger-2", "edger", start, days=1, seed=5)
    assert (await send(client, world, calm)).json()["accepted"] == len(calm)
    port = runtime.anomaly.port
    assert isinstance(port, InProcessAnomaly)
    lab = await port.lab(world.lab.tenant_id)
    before = lab.state.machines["edger-2"]
    # 900 readings one second apart from one machine: more than its burst allows.
    flood_start = now - timedelta(hours=1)
    flood = [
        {
            "equipment_id": "edger-1",
            "at": (flood_start + timedelta(seconds=i)).isoformat(),
            "metrics": {"vibration_mm_s": 1.6},
        }
        for i in range(900)
    ]
    body = (await send(client, world, flood)).json()
    outcomes = {(v["outcome"], v["code"]) for v in body["verdicts"]}
    assert outcomes == {("accepted", None), ("quarantined", "flood")}
    assert body["quarantined"] > 0 and body["accepted"] > 0
    assert lab.state.machines["edger-2"] is before
    assert lab.state.intake.last_at["edger-2"] == datetime.fromisoformat(calm[-1]["at"]).timestamp()
    async with runtime.db.connection() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM telemetry WHERE equipment_id = 'edger-1'"
        )
        flooded = await conn.fetchval(
            "SELECT count(*) FROM telemetry_quarantine WHERE code = 'flood'"
        )
    assert (stored, flooded) == (body["accepted"], body["quarantined"])


async def test_retention_rolls_up_then_prunes_raw_rows(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    await register(client, world, "edger-1")
    now = runtime.clock()
    readings = healthy_readings("edger-1", "edger", now - timedelta(days=6), days=2)
    assert (await send(client, world, readings)).json()["accepted"] == len(readings)
    later = now + timedelta(days=2)  # keep 7 days: the first day of readings is past retention
    deleted = await runtime.anomaly.prune_telemetry(7, later)
    cutoff = (later - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    old = [r for r in readings if datetime.fromisoformat(r["at"]) < cutoff]
    assert deleted == 4 * len(old)
    async with runtime.db.connection() as conn:
        oldest = await conn.fetchval("SELECT min(at) FROM telemetry")
        hours = await conn.fetch(
            "SELECT hour, n, mean FROM telemetry_hourly WHERE metric = 'vibration_mm_s' "
            "ORDER BY hour"
        )
    assert oldest >= cutoff
    assert sum(h["n"] for h in hours) == len(old)
    first_hour = [
        r["metrics"]["vibration_mm_s"]
        for r in old
        if datetime.fromisoformat(r["at"]).replace(minute=0, second=0, microsecond=0)
        == hours[0]["hour"]
    ]
    assert abs(hours[0]["mean"] - float(np.mean(first_hour))) < 1e-9
    assert hours[-1]["hour"] < cutoff.astimezone(UTC)
