"""The background station feed: many requests' movements in one call per station, later."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ils.domain.lims_event import Movement
from ils.domain.station import Station
from ils.services.ports import RecordingPublisher
from ils.services.station_feed import Handover, StationFeed, runs_of
from ils.services.stations import Resources, Stations

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def move(job: str, station: Station, seconds: float) -> Movement:
    return Movement(station, job, "queued", 1, T0 + timedelta(seconds=seconds))


class Port:
    """Station state that records every call it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[Station, int]] = []

    async def apply(
        self, lab_id: str, station: Station, moves: Sequence[Movement], wall_s: float
    ) -> dict[str, Any] | None:
        self.calls.append((station, len(moves)))
        return None

    async def read(self, lab_id: str) -> list[dict[str, Any]]:
        return []

    async def configure(self, lab_id: str, station: Station, resources: Resources) -> None:
        return None


def test_runs_keep_lims_times_apart() -> None:
    close = [Handover((move("a", Station.PICKING, s),), T0, 0.0) for s in (0.0, 0.3, 0.9)]
    later = Handover((move("b", Station.PICKING, 60.0),), T0, 0.0)
    runs = runs_of([*close, later])
    assert [len(r) for r in runs] == [3, 1]


async def test_movements_are_fed_together_after_the_requests() -> None:
    port = Port()
    stations = Stations(None, port, RecordingPublisher())  # type: ignore[arg-type]
    observed: list[int] = []

    async def observe(lab_id: str, moves: Sequence[Movement]) -> None:
        observed.append(len(moves))

    stations.observers.append(observe)
    stations.feed = StationFeed(stations, every_s=0.01)
    for k in range(5):
        moves = [move(f"J{k}", Station.PICKING, k * 0.1), move(f"J{k}", Station.SURFACING, k * 0.1)]
        await stations.committed("lab", moves, T0, float(k))
    assert port.calls == []  # handed over: nothing was awaited by the requests
    await stations.settle()
    assert sorted(port.calls) == [(Station.PICKING, 5), (Station.SURFACING, 5)]
    assert observed == [10]  # within one second of LIMS time: one observation
