"""Process, quality and volume anomalies from live lab activity, through the anomaly service.

Committed station movements reach ``Anomaly.after_movements`` (the stations observer); the
detectors close an hour of the line, read its committed breakages, and raise de-duplicated alerts
that are stored and published. Volume compares a finished day's orders with the served forecast
kept for that day. The stream is ``tests.unit.anomaly.streams.hour_of_moves`` (stated there).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import httpx
import numpy as np
import pytest

from ils.api.app import create_app
from ils.db import lims_inbound as lims_db
from ils.db import stations as station_db
from ils.domain.access import TenantKind
from ils.domain.lims_event import Movement
from ils.domain.station import Station
from ils.runtime import Runtime
from ils.services.anomaly_model import InProcessAnomaly, LabAnomaly
from ils.services.forecast_model import InProcessForecaster
from ils.services.ports import Gateways, RecordingPublisher
from ils.settings import Settings
from ils.sim.demand import daily_order_history
from tests.integration.conftest import World, login, make_party, order_body
from tests.unit.anomaly.streams import HOUR, hour_of_moves

START = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)  # a Wednesday


class Clock:
    def __init__(self) -> None:
        self.now = START + timedelta(hours=12)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def runtime(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings, Gateways(publisher=RecordingPublisher()), clock=clock)
    try:
        yield rt
    finally:
        await cast(InProcessForecaster, rt.gateways.forecasts).settle()
        await rt.anomaly.settle()
        await rt.bus.delete_prefix("")
        await rt.close()


@pytest.fixture
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings, runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as c:
        yield c


def movements(raw: list[tuple[str, str, str, float]]) -> list[Movement]:
    return [
        Movement(Station(s), job, status, i, datetime.fromtimestamp(at, UTC))  # type: ignore[arg-type]
        for i, (s, job, status, at) in enumerate(raw)
    ]


async def alerts(client: httpx.AsyncClient, auth: dict[str, str], kind: str) -> list[Any]:
    response = await client.get(f"/api/anomalies/alerts?kind={kind}", headers=auth)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def published(runtime: Runtime, kind: str) -> list[dict[str, Any]]:
    events = cast(RecordingPublisher, runtime.publisher).events
    return [
        e.data["alert"]
        for e in events
        if e.type == "alert.raised" and e.data["alert"]["kind"] == kind
    ]


async def test_doubled_service_times_at_edging_raise_one_process_alert(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lab = await make_party(runtime, client, TenantKind.LAB, "Process Lab")
    rng, t0 = np.random.default_rng(21), START.timestamp()
    for h in range(24):  # tested from hour 20 (12 baseline hours + the 8 of a run)
        service = {"edging": 16.0 if h in (21, 22) else 8.0, "surfacing": 12.0}
        await runtime.anomaly.after_movements(
            lab.tenant_id, movements(hour_of_moves(h, rng, service, t0=t0))
        )
    (alert,) = await alerts(client, lab.auth, "process")
    assert alert["subject"] == "station:edging:cycle_time_min"
    assert alert["evidence"]["value"] > alert["evidence"]["ucl"]
    first_end = datetime.fromtimestamp(t0 + 22 * HOUR, UTC)  # the end of hour 21
    assert datetime.fromisoformat(alert["detected_at"]) == first_end
    assert alert["evidence"]["period_start"] == t0 + 22 * HOUR  # the latest occurrence
    assert alert["occurrences"] == 2  # the second hour folded into the live alert
    assert [a["subject"] for a in published(runtime, "process")] == [alert["subject"]]


async def test_a_burst_of_one_breakage_reason_raises_a_quality_alert(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    lab = await make_party(runtime, client, TenantKind.LAB, "Quality Lab")
    practice = await make_party(runtime, client, TenantKind.PRACTICE, "Quality Practice")
    await runtime.identity.link(lab.tenant_id, practice.tenant_id, runtime.clock())
    world = World(lab, practice, practice)
    made = await client.post(
        "/api/orders", json=order_body(lab.tenant_id), headers=world.practice.auth
    )
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    rng, t0 = np.random.default_rng(22), START.timestamp()
    for h in range(16):
        broken = 8 if h == 14 else int(rng.binomial(30, 0.01))
        rows = [
            {
                "id": str(uuid.uuid4()),
                "order_id": order_id,
                "job_id": f"J-{h}-{k}",
                "event_id": f"evt-{h}-{k}",
                "station": "edging",
                "reason_code": "chip",
                "shift": "day",
                "restart_station": "surfacing",
                "occurred_at": datetime.fromtimestamp(t0 + h * HOUR + 60 * k, UTC),
            }
            for k in range(broken)
        ]
        async with runtime.db.transaction() as conn:
            await lims_db.insert_breakages(conn, lab.tenant_id, rows)
        moves = hour_of_moves(h, rng, {"edging": 8.0}, t0=t0)
        await runtime.anomaly.after_movements(lab.tenant_id, movements(moves))
    found = await alerts(client, lab.auth, "quality")
    assert [a["subject"] for a in found] == ["breakage:edging:chip"]
    assert found[0]["evidence"]["count"] == 8 and found[0]["evidence"]["jobs"] == 30
    assert [a["subject"] for a in published(runtime, "quality")] == ["breakage:edging:chip"]


async def test_a_day_of_one_order_is_below_the_forecast_interval(
    runtime: Runtime, client: httpx.AsyncClient, clock: Clock
) -> None:
    lab = await make_party(runtime, client, TenantKind.LAB, "Volume Lab")
    days = 120
    first = START.date() - timedelta(days=days)
    history = daily_order_history(first, days, "US", 220.0, np.random.default_rng(23))
    body = {"days": [{"date": d.isoformat(), "orders": n} for d, n in history], "country": "US"}
    put = await client.put("/api/ai/demand-history", json=body, headers=lab.auth)
    assert put.status_code == 200, put.text
    practice = await make_party(runtime, client, TenantKind.PRACTICE, "Volume Practice")
    await runtime.identity.link(lab.tenant_id, practice.tenant_id, runtime.clock())
    one = await client.post("/api/orders", json=order_body(lab.tenant_id), headers=practice.auth)
    assert one.status_code == 201, one.text  # live days start today: today gets one order
    rng, t0 = np.random.default_rng(24), START.timestamp()
    moves = movements(hour_of_moves(0, rng, {"edging": 8.0}, t0=t0))
    await runtime.anomaly.after_movements(lab.tenant_id, moves)  # keeps today's forecast
    assert await alerts(client, lab.auth, "volume") == []
    clock.now += timedelta(days=1)  # the day ends with that one order
    await runtime.anomaly.after_movements(lab.tenant_id, moves)
    auth = {"Authorization": f"Bearer {await login(client, lab.email)}"}  # a day later
    (alert,) = await alerts(client, auth, "volume")
    evidence = alert["evidence"]
    assert alert["subject"] == "orders:daily" and evidence["day"] == START.date().isoformat()
    assert evidence["orders"] == 1 and evidence["direction"] == "below"
    assert 0 < evidence["lower_95"] < evidence["forecast"] < evidence["upper_95"]
    await runtime.anomaly.after_movements(lab.tenant_id, moves)  # the same day: tested once
    assert len(published(runtime, "volume")) == 1
    assert isinstance(date.fromisoformat(evidence["day"]), date)


async def test_a_rebuilt_lab_model_has_the_line_history_of_the_stored_movements(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lab = await make_party(runtime, client, TenantKind.LAB, "Rebuilt Lab")
    rng, t0 = np.random.default_rng(25), START.timestamp()
    for h in range(22):
        moves = movements(hour_of_moves(h, rng, {"edging": 8.0}, t0=t0))
        async with runtime.db.transaction() as conn:
            await station_db.insert_movements(conn, lab.tenant_id, moves)
        await runtime.anomaly.after_movements(lab.tenant_id, moves)
    live = await cast(InProcessAnomaly, runtime.anomaly.port).lab(lab.tenant_id)
    rebuilt = LabAnomaly(runtime.db, lab.tenant_id)
    await rebuilt.load()
    key = ("process", "station:edging:cycle_time_min")
    assert len(rebuilt.line.series[key]) == len(live.line.series[key]) == 21
    assert np.allclose(
        [v for v, _ in rebuilt.line.series[key]], [v for v, _ in live.line.series[key]]
    )
    assert rebuilt.line.period == live.line.period
    # the hour in progress is not counted twice when its movements reach the rebuilt model
    again = movements(hour_of_moves(21, np.random.default_rng(25), {"edging": 8.0}, t0=t0))
    wire = [(str(m.station), m.job_id, m.status, m.occurred_at.timestamp()) for m in again]
    assert await rebuilt.movements(wire) == []
    assert rebuilt.line.open.done == live.line.open.done
