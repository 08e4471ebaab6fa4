"""A live station catches up with movements committed but never handed to it, counting each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ils.db import stations as station_db
from ils.domain.lims_event import Movement
from ils.domain.station import Station
from ils.runtime import Runtime
from ils.services.stations import load_live_station
from tests.integration.conftest import World

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _visit(job: str, seq: int, minute: int) -> list[Movement]:
    at = T0 + timedelta(minutes=minute)
    return [
        Movement(Station.EDGING, job, "in_process", seq, at),
        Movement(Station.EDGING, job, "done", seq + 1, at + timedelta(minutes=4)),
    ]


async def test_a_live_station_catches_up_once_with_what_it_was_never_fed(
    runtime: Runtime, world: World
) -> None:
    lab_id = world.lab.tenant_id
    async with runtime.db.transaction() as conn:
        await station_db.insert_movements(conn, lab_id, _visit("J-1", 1, 0))
    live = await load_live_station(runtime.db, lab_id, Station.EDGING, wall_s=0.0)
    assert live.model.snapshot()["throughput_per_hour"] == 1.0
    assert not live.due(1.0, every_s=2.0) and live.due(2.0, every_s=2.0)

    async with runtime.db.transaction() as conn:  # committed; its replica died before feeding
        await station_db.insert_movements(conn, lab_id, _visit("J-2", 1, 10))
    await live.catch_up(runtime.db, wall_s=2.0)
    assert live.model.snapshot()["throughput_per_hour"] == 2.0
    await live.catch_up(runtime.db, wall_s=4.0)  # the overlap reads J-2 again: counted once
    live.model.feed(_visit("J-2", 1, 10)[1])  # and the late feed of the same movement too
    assert live.model.snapshot()["throughput_per_hour"] == 2.0
