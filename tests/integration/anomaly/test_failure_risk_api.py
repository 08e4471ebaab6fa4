"""48-hour failure risk over the API, trained on the lab's own simulated history.

Generator parameters (stated): 12 machines (3 of each kind), 60 days of 10-minute readings ending
at the fixed clock NOW, seed SEED; per machine and 30 days 1.0 gradual failures (wear over 3-10
days), 0.3 sudden failures, 0.4 harmless drifts. The history up to T0 = NOW - 7 days (readings and
failure, maintenance and repair events) is loaded straight into PostgreSQL, as an import of past
telemetry would be, and the lab's model is trained at T0 (50 boosting rounds, 2 machine folds, every
3rd hourly row: fast, for the test). Then the last 7 days of readings arrive, and the failures of
those 7 days are reported over the API: the model never saw them. With this seed the 7 days hold
gradual and sudden failures, and one machine fails gradually about 22 hours after NOW.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from ils.analytics.failure.model import MODEL_NAME, TrainingParams
from ils.db import equipment as equipment_db
from ils.db import telemetry
from ils.runtime import Runtime
from ils.services.anomaly_model import InProcessAnomaly
from ils.sim.telemetry import KINDS, METRICS, DegradationParams, Machine, TelemetryGenerator
from tests.integration.anomaly.conftest import NOW
from tests.integration.anomaly.test_telemetry_api import register, send
from tests.integration.conftest import World

SEED = 26
PARAMS = DegradationParams(gradual_rate=1.0, sudden_rate=0.3, drift_rate=0.4)
FAST = TrainingParams(max_iter=50, folds=2, train_stride=3)
START = NOW - timedelta(days=60)
T0 = NOW - timedelta(days=7)


def simulate() -> tuple[list[Machine], list[dict[str, Any]], list[dict[str, Any]]]:
    """(machines, readings up to NOW, every event up to NOW + 3 days)."""
    fleet = [Machine(f"m{i}", KINDS[i % 4], "edging") for i in range(12)]
    gen = TelemetryGenerator(fleet, np.random.default_rng(SEED), PARAMS)
    window = gen.frames_between(START, NOW + timedelta(days=3), timedelta(minutes=10))
    readings = []
    for f in window.frames:
        for t, row in zip(f.times, f.values, strict=True):
            if t <= NOW.timestamp():
                at = datetime.fromtimestamp(float(t), UTC)
                readings.append(
                    {
                        "equipment_id": f.equipment_id,
                        "at": at,
                        "metrics": dict(zip(f.metrics, row.tolist(), strict=True)),
                    }
                )
    return fleet, readings, window.events


async def load(
    runtime: Runtime, lab_id: str, readings: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    async with runtime.db.transaction() as conn:
        await telemetry.copy_readings(conn, lab_id, readings)
        for e in events:
            await equipment_db.add_event(
                conn, str(uuid.uuid4()), lab_id, e["equipment_id"], e["type"], e["at"], None, NOW
            )


async def register_fleet(runtime: Runtime, lab_id: str, fleet: list[Machine]) -> None:
    async with runtime.db.transaction() as conn:
        for m in fleet:
            row = {
                "id": m.equipment_id,
                "station": m.station,
                "kind": m.kind,
                "metrics": list(METRICS),
                "registered_at": START,
            }
            await equipment_db.insert(conn, lab_id, row)


def fast_port(runtime: Runtime) -> InProcessAnomaly:
    port = runtime.anomaly.port
    assert isinstance(port, InProcessAnomaly)
    port.params = FAST
    return port


async def test_too_little_history_is_said_honestly(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    port = fast_port(runtime)
    await register(client, world, "edger-1")
    reading = {
        "equipment_id": "edger-1",
        "at": (NOW - timedelta(minutes=5)).isoformat(),
        "metrics": {"vibration_mm_s": 1.6},
    }
    assert (await send(client, world, [reading])).json()["accepted"] == 1
    url = "/api/equipment/edger-1/failure-risk"
    first = (await client.get(url, headers=world.lab.auth)).json()
    assert first["probability_48h"] is None
    await port.settle()
    body = (await client.get(url, headers=world.lab.auth)).json()
    assert body["model"] == "insufficient-history" and body["probability_48h"] is None
    assert body["expected_failure_within_h"] is None and body["signals"] == []
    assert body["history"]["machines"] == 1 and body["history"]["failures"] == 0
    assert body["required"]["failures"] >= 1
    missing = await client.get("/api/equipment/nope/failure-risk", headers=world.lab.auth)
    assert missing.status_code == 404


async def test_risk_and_reported_failures_come_from_the_labs_own_model(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    lab_id = world.lab.tenant_id
    fleet, readings, events = simulate()
    await register_fleet(runtime, lab_id, fleet)
    await load(
        runtime,
        lab_id,
        [r for r in readings if r["at"] <= T0],
        [e for e in events if e["at"] <= T0],
    )
    port = fast_port(runtime)
    status = await port.train(lab_id, T0, wait=True)
    # Trained on the history up to T0; dated NOW so that no scheduled retraining (due after a
    # day) replaces it while the test asks.
    lab = await port.lab(lab_id)
    assert lab.trained is not None
    lab.trained = replace(lab.trained, trained_at=NOW)
    assert status["model"] == MODEL_NAME and 0.0 < status["threshold"] < 1.0
    assert status["history"]["machines"] == 12 and status["history"]["failures"] > 3
    recent = [e for e in events if T0 < e["at"] <= NOW]
    failures = [e for e in recent if e["type"] == "failure"]
    await load(
        runtime,
        lab_id,
        [r for r in readings if r["at"] > T0],
        [e for e in recent if e["type"] != "failure"],
    )

    soon = {
        e["equipment_id"]
        for e in events
        if e["type"] == "failure"
        and e["cause"] == "gradual"
        and NOW < e["at"] <= NOW + timedelta(hours=36)
    }
    calm = {m.equipment_id for m in fleet} - {e["equipment_id"] for e in events if e["at"] > T0}
    assert soon and calm
    # Readings arriving trigger the hourly risk evaluation of their machines (off the request path).
    last = {r["equipment_id"]: r["metrics"] for r in readings}
    arriving = [
        {"equipment_id": eid, "at": (NOW + timedelta(minutes=1)).isoformat(), "metrics": last[eid]}
        for eid in sorted(soon | calm)
    ]
    assert (await send(client, world, arriving)).json()["accepted"] == len(arriving)
    await runtime.anomaly.settle()
    swept = await client.get("/api/anomalies/alerts?kind=equipment", headers=world.lab.auth)
    risk = {}
    for eid in sorted(soon | calm):
        body = (
            await client.get(f"/api/equipment/{eid}/failure-risk", headers=world.lab.auth)
        ).json()
        assert body["model"] == MODEL_NAME and 0.0 <= body["probability_48h"] <= 1.0
        assert {s["metric"] for s in body["signals"]} == set(METRICS)
        risk[eid] = body
    assert min(risk[e]["probability_48h"] for e in soon) > max(
        risk[e]["probability_48h"] for e in calm
    )
    in_alarm = {e for e, b in risk.items() if b["in_alarm"]}
    assert in_alarm & soon and not in_alarm & calm
    assert all(risk[e]["expected_failure_within_h"] is not None for e in in_alarm)
    alerts = await client.get("/api/anomalies/alerts?kind=equipment", headers=world.lab.auth)
    subjects = {a["subject"] for a in alerts.json()["items"]}
    assert {a["subject"] for a in swept.json()["items"]} == subjects
    assert {s for s in subjects if s.startswith("failure:")} == {f"failure:{e}" for e in in_alarm}

    answers = []
    for e in failures:
        response = await client.post(
            f"/api/equipment/{e['equipment_id']}/events",
            json={"type": "failure", "at": e["at"].isoformat()},
            headers=world.lab.auth,
        )
        assert response.status_code == 201, response.text
        answers.append((e["cause"], response.json()["assessment"]))
    assert {c for c, _ in answers} == {"gradual", "sudden"}
    for cause, assessment in answers:
        if cause == "sudden":
            assert (assessment["precursor"], assessment["cause"]) == ("none", "sudden")
        else:
            assert assessment["precursor"] == "predicted"
            assert 2.0 <= assessment["lead_time_h"] <= 48.0
    alerts = (await client.get("/api/anomalies/alerts", headers=world.lab.auth)).json()["items"]
    reported = [a for a in alerts if a["subject"].startswith("failed:")]
    assert len(reported) == len({e["equipment_id"] for e in failures})


async def test_bad_equipment_events_are_refused(client: httpx.AsyncClient, world: World) -> None:
    await register(client, world, "m0")
    future = await client.post(
        "/api/equipment/m0/events",
        json={"type": "repair", "at": (NOW + timedelta(days=1)).isoformat()},
        headers=world.lab.auth,
    )
    assert future.status_code == 422
    unknown = await client.post(
        "/api/equipment/ghost/events",
        json={"type": "repair", "at": NOW.isoformat()},
        headers=world.lab.auth,
    )
    assert unknown.status_code == 404
    bad = await client.post(
        "/api/equipment/m0/events",
        json={"type": "explosion", "at": "yesterday"},
        headers=world.lab.auth,
    )
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/type", "/at"}
    ok = await client.post(
        "/api/equipment/m0/events",
        json={"type": "maintenance", "at": NOW.isoformat()},
        headers=world.lab.auth,
    )
    assert ok.status_code == 201 and "assessment" not in ok.json()


def test_stated_seed_has_both_failure_causes() -> None:
    _, _, events = simulate()
    causes = {e.get("cause") for e in events if e["type"] == "failure" and T0 < e["at"] <= NOW}
    assert {"gradual", "sudden"} <= causes
    assert all(isinstance(e["at"], datetime) for e in events)
