"""The live detector reads the machines' cycle time from their telemetry: each sample carries the
mean of the readings since the previous one, and a rebuild recomputes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from ils.services.bottleneck_model import (
    CycleReading,
    LabBottleneck,
    cycle_means_by_sample,
    station_cycle_means,
    with_cycle_means,
)

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


class FakeStations:
    """Steady snapshots: surfacing 4 of 5 busy, edging 2 of 3 (one job a minute each)."""

    async def read(self, lab_id: str) -> list[dict[str, Any]]:
        return [
            {"station": "surfacing", "staff": 5, "machines": 0, "queue": 0, "in_process": 4,
             "mean_service_min": 4.0},
            {"station": "edging", "staff": 3, "machines": 0, "queue": 0, "in_process": 2,
             "mean_service_min": 2.0},
        ]  # fmt: skip


class FakeCycleTimes:
    """Readings the test stores; answers (after, until] like the telemetry table."""

    def __init__(self) -> None:
        self.stored: list[CycleReading] = []
        self.calls = 0

    async def readings(
        self, lab_id: str, after: datetime, until: datetime | None = None
    ) -> list[CycleReading]:
        self.calls += 1
        lo, hi = after.timestamp(), float("inf") if until is None else until.timestamp()
        return sorted(r for r in self.stored if lo < r[1] <= hi)


def test_readings_are_averaged_per_station_and_per_sample_interval() -> None:
    readings = [("edging", 10.0, 70.0), ("edging", 20.0, 72.0), ("surfacing", 20.0, 95.0),
                ("edging", 40.0, 80.0), ("edging", 41.0, 1.0)]  # fmt: skip
    assert station_cycle_means(readings) == {"edging": 55.75, "surfacing": 95.0}
    # samples at 20 and 40: (20 - 30 s, 20] and (20, 40]; the reading at 41 is after both
    means = cycle_means_by_sample(readings, [20.0, 40.0])
    assert means == [{"edging": 71.0, "surfacing": 95.0}, {"edging": 80.0}]
    assert cycle_means_by_sample(readings, [5.0]) == [{}]


async def test_a_slower_edger_is_named_from_the_telemetry_and_survives_a_rebuild() -> None:
    stations, telemetry = FakeStations(), FakeCycleTimes()
    lab = LabBottleneck("lab", stations, telemetry)
    rng = np.random.default_rng(9)
    stored: list[dict[str, Any]] = []
    seen = None
    slow_from = 40
    for half in range(2 * 45):
        at = T0 + timedelta(seconds=30 * half)
        minute = half / 2
        for k in range(4):  # four edgers and two generators report every 30 s
            cycle = 70.0 * (1.5 if minute >= slow_from else 1.0)
            telemetry.stored.append(("edging", at.timestamp() - k, cycle + 3 * rng.normal()))
        for k in range(2):
            telemetry.stored.append(("surfacing", at.timestamp() - k, 95 + 4 * rng.normal()))
        arrivals = {"surfacing": 1, "edging": 1} if half % 2 == 0 else {}
        seen = await lab.observe(arrivals, at)
        assert seen is not None
        stored += [{"at": at, **row} for row in seen.samples]
        if minute == slow_from - 1:
            assert seen.detection.station == "surfacing"  # edging 0.67, surfacing 0.8
            assert "machine_cycle_time" not in seen.detection.evidence["service_signal"].values()
    assert seen is not None and telemetry.calls == 2 * 45
    assert seen.samples[1]["machine_cycle_s"] == pytest.approx(105.0, rel=0.05)
    ev = seen.detection.evidence
    assert seen.detection.station == "edging"
    assert ev["service_signal"] == {"edging": "machine_cycle_time", "surfacing": "departures"}
    assert ev["service_mean_min"]["edging"] == pytest.approx(3.0, rel=0.05)
    assert ev["machine_cycle_s"]["edging"]["after"] == pytest.approx(105.0, rel=0.03)
    # The stored rows lack the cycle time; the rebuild recomputes it from the telemetry.
    bare = [{k: v for k, v in row.items() if k != "machine_cycle_s"} for row in stored]
    assert await with_cycle_means(bare, "lab", telemetry) == stored


async def test_a_late_batch_of_readings_counts_once_in_the_next_sample() -> None:
    # A gateway posts ten minutes of readings at once, after the LIMS events of those minutes.
    telemetry = FakeCycleTimes()
    lab = LabBottleneck("lab", FakeStations(), telemetry)
    cycles = []
    for minute in range(25):
        at = T0 + timedelta(minutes=minute)
        if minute in (10, 20):
            telemetry.stored += [
                ("edging", (at - timedelta(minutes=m)).timestamp(), 70.0 + minute + m)
                for m in range(10)
            ]
        seen = await lab.observe({"edging": 1}, at)
        assert seen is not None
        cycles.append(seen.samples[1]["machine_cycle_s"])
    assert cycles[10] == pytest.approx(84.5)  # the mean of the ten readings of the first batch
    assert cycles[20] == pytest.approx(94.5)  # the second batch only
    assert [c for i, c in enumerate(cycles) if i not in (10, 20)] == [0.0] * 23
