"""The lab's bottleneck detector without Ray or a database: sampling, arrivals, change, rebuild;
and the live line the twin starts from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ils.analytics.bottleneck import LineState
from ils.services.bottleneck import finite, live_line_state, nested_routes
from ils.services.bottleneck_model import LabBottleneck, LiveLine, minutes, snapshot_of

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class FakeStations:
    """Stations whose snapshots the test sets; counts reads."""

    def __init__(self) -> None:
        self.state: dict[str, dict[str, Any]] = {}
        self.reads = 0

    def set(self, station: str, **values: Any) -> None:
        base = {"station": station, "staff": 2, "machines": 0, "queue": 0, "in_process": 0}
        self.state[station] = base | {"mean_service_min": 5.0, "throughput_per_hour": 6.0} | values

    async def read(self, lab_id: str) -> list[dict[str, Any]]:
        self.reads += 1
        return [dict(v) for v in self.state.values()]


def test_nested_routes_reproduce_the_visit_shares() -> None:
    shares = {"picking": 1.0, "surfacing": 0.7, "ar_coat": 0.5, "tinting": 0.1, "edging": 1.0}
    order = ["picking", "surfacing", "ar_coat", "tinting", "edging"]
    routes = nested_routes(shares, order)
    assert sum(r["share"] for r in routes) == pytest.approx(1.0)
    for name, share in shares.items():
        visited = sum(r["share"] for r in routes if name in r["stations"])
        assert visited == pytest.approx(share)
    assert all(r["stations"] == [n for n in order if n in r["stations"]] for r in routes)


def test_live_line_state_uses_measured_rates_and_skips_unmeasured_stations() -> None:
    reads = [
        {"station": "picking", "staff": 3, "machines": 0, "queue": 2, "in_process": 3,
         "mean_service_min": 2.0, "throughput_per_hour": 30.0, "cross_trained": []},
        {"station": "surfacing", "staff": 4, "machines": 3, "queue": 9, "in_process": 3,
         "mean_service_min": 6.0, "throughput_per_hour": 24.0, "cross_trained": []},
        {"station": "tinting", "staff": 1, "machines": 0, "queue": 0, "in_process": 0,
         "mean_service_min": None, "throughput_per_hour": 0.0, "cross_trained": []},
    ]  # fmt: skip
    line = LiveLine("lab", T0, None, reads, {"picking": 0.5, "surfacing": 0.4})
    state = live_line_state(line)
    assert isinstance(state, LineState)
    assert list(state.stations) == ["picking", "surfacing"]
    assert state.arrival_rate == pytest.approx(0.5)
    assert state.visit_shares() == pytest.approx({"picking": 1.0, "surfacing": 0.8})
    assert state.stations["surfacing"].servers == 3
    assert state.stations["surfacing"].queue == 9
    assert live_line_state(LiveLine("lab", None, None, reads[2:], {})) is None


def test_jobs_in_process_beyond_the_servers_count_as_waiting() -> None:
    row = {"station": "edging", "queue": 1, "in_process": 5, "capacity": 3, "arrived": 9,
           "service_mean_min": 4.0}  # fmt: skip
    snap = snapshot_of(row, 10.0)
    assert (snap.queue, snap.in_process, snap.capacity, snap.arrived) == (3, 3, 3, 9)


async def test_samples_at_most_every_30_seconds_and_counts_arrivals() -> None:
    stations = FakeStations()
    stations.set("picking")
    lab = LabBottleneck("lab", stations)
    first = await lab.observe({"picking": 2}, T0)
    assert first is not None and first.samples[0]["arrived"] == 2
    assert await lab.observe({"picking": 1}, T0 + timedelta(seconds=20)) is None
    later = await lab.observe({}, T0 + timedelta(seconds=31))
    assert later is not None and later.samples[0]["arrived"] == 3
    assert later.at == T0 + timedelta(seconds=31)
    assert stations.reads == 2


async def test_a_growing_queue_at_an_understaffed_station_becomes_the_constraint() -> None:
    stations = FakeStations()
    lab = LabBottleneck("lab", stations)
    changes = []
    samples: list[dict[str, Any]] = []
    for minute in range(40):
        stations.set("picking", queue=0, in_process=1, mean_service_min=2.0)
        stations.set("surfacing", queue=minute, in_process=2, mean_service_min=8.0)
        stations.set("edging", queue=0, in_process=1, mean_service_min=3.0)
        arrivals = {"picking": 1, "surfacing": 1, "edging": 0 if minute % 4 else 1}
        seen = await lab.observe(arrivals, T0 + timedelta(minutes=minute))
        assert seen is not None
        samples = seen.samples
        if seen.changed:
            changes.append((seen.previous, seen.detection.station))
    assert changes[-1][1] == "surfacing"
    assert lab.model.last is not None and lab.model.last.station == "surfacing"
    assert lab.arrival_rates()["surfacing"] == pytest.approx(1.0)
    # Rebuilt from what the service stored: the same constraint, since and arrival counts.
    stored = [
        {"at": T0 + timedelta(minutes=m), **row}
        for m, row in ((m, r) for m in (38, 39) for r in samples)
    ]
    current = {"station": "surfacing", "since": T0 + timedelta(minutes=5), "confidence": 0.9,
               "evidence": {}, "detected_at": T0 + timedelta(minutes=39)}  # fmt: skip
    rebuilt = LabBottleneck("lab", stations)
    rebuilt.restore(stored, current)
    assert rebuilt.arrived == lab.arrived
    assert rebuilt.latest == T0 + timedelta(minutes=39)
    assert rebuilt.model.last is not None
    assert rebuilt.model.last.since == pytest.approx(minutes(T0 + timedelta(minutes=5)))
    again = await rebuilt.observe({"surfacing": 1}, T0 + timedelta(minutes=40))
    assert again is not None and not again.changed


async def test_no_staffed_station_names_no_constraint() -> None:
    stations = FakeStations()
    stations.set("picking", staff=0, queue=4)
    lab = LabBottleneck("lab", stations)
    await lab.observe({"picking": 4}, T0)
    seen = await lab.observe({"picking": 1}, T0 + timedelta(minutes=1))
    assert seen is not None
    assert seen.detection.station is None and "PUT" in seen.detection.evidence["reason"]


def test_finite_makes_figures_json_safe() -> None:
    value = {"a": float("inf"), "b": [1.0, float("nan")], "c": ("x", 2)}
    assert finite(value) == {"a": None, "b": [1.0, None], "c": ["x", 2]}
