"""The machines' cycle-time readings from PostgreSQL, by the station each machine is registered at,
taken in a sample's interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ils.db import equipment as equipment_db
from ils.db import machine_cycle, telemetry
from ils.runtime import Runtime
from ils.services.bottleneck_model import DatabaseCycleTimes
from tests.integration.conftest import World

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
MACHINES = (("edger-1", "edging", "edger"), ("edger-2", "edging", "edger"),
            ("gen-1", "surfacing", "generator"))  # fmt: skip


async def _store(runtime: Runtime, lab: str) -> None:
    readings = [
        {"equipment_id": eid, "at": T0 + timedelta(seconds=s),
         "metrics": {"cycle_time_s": base + s, "vibration_mm_s": 1.5}}
        for eid, base in (("edger-1", 70.0), ("edger-2", 72.0), ("gen-1", 95.0))
        for s in (10, 40)
    ]  # fmt: skip
    async with runtime.db.transaction() as conn:
        for eid, station, kind in MACHINES:
            row = {"id": eid, "station": station, "kind": kind,
                   "metrics": ["cycle_time_s", "vibration_mm_s"], "registered_at": T0}  # fmt: skip
            await equipment_db.insert(conn, lab, row)
        await telemetry.copy_readings(conn, lab, readings)


async def test_cycle_readings_come_by_station_within_the_interval(
    runtime: Runtime, world: World
) -> None:
    lab = world.lab.tenant_id
    await _store(runtime, lab)
    async with runtime.db.connection() as conn:
        first = await machine_cycle.station_cycle_readings(
            conn, lab, T0, T0 + timedelta(seconds=30)
        )
        later = await machine_cycle.station_cycle_readings(
            conn, lab, T0 + timedelta(seconds=10), T0 + timedelta(seconds=40)
        )
    t10 = (T0 + timedelta(seconds=10)).timestamp()
    assert sorted(first) == [
        ("edging", t10, 80.0),
        ("edging", t10, 82.0),
        ("surfacing", t10, 105.0),
    ]
    assert sorted(v for s, _, v in later if s == "edging") == [110.0, 112.0]
    assert len(later) == 3  # (after, until]: the readings at +10 s are not repeated
    async with runtime.db.connection() as conn:
        unbounded = await machine_cycle.station_cycle_readings(
            conn, lab, T0 + timedelta(seconds=10)
        )
    assert sorted(unbounded) == sorted(later)
    reader = DatabaseCycleTimes(runtime.db)
    assert sorted(await reader.readings(lab, T0, T0 + timedelta(seconds=30))) == sorted(first)
    other = await reader.readings(world.practice.tenant_id, T0, T0 + timedelta(minutes=1))
    assert other == []
