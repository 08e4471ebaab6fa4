"""The streaming bottleneck detector of one lab, and the port that holds it.

``LabBottleneck`` is what a ``BottleneckModel`` actor keeps in memory (unit-testable without
Ray): the analytics detector (``ils.analytics.bottleneck.BottleneckModel``), the cumulative
arrivals per station (``queued`` movements), and when the lab was last sampled. Committed
movements are counted as they come; at most every ``SAMPLE_EVERY`` of the LIMS's time it pulls
the live snapshot of every station (from the stations port), turns it into station samples and
re-runs the detection. The caller stores the samples and, when the constraint changed, emits the
event: the detector never writes.

Times are the LIMS's ``occurred_at`` (model time), as minutes since the epoch for the analytics.
After a restart the detector is rebuilt from ``station_samples`` and ``lab_bottlenecks``.

With a ``CycleTimeReader`` each sample also carries, per station, the mean ``cycle_time_s`` of the
readings its machines sent that no earlier sample saw (equipment telemetry, by the station each
machine is registered at; 0: none), so a machine that slows is seen in minutes
(``ils.analytics.bottleneck.cycle_time``). Telemetry arrives in batches, often after the LIMS
events of the same minutes, so a sample reads every reading taken after the latest one seen
(whenever it was stored), not those of its own interval: each reading counts once, and successive
samples average disjoint readings, as that test needs. ``station_samples`` has no column for it:
on a rebuild the means are recomputed from the stored telemetry by reading time over the restored
sample times.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from ils.analytics.bottleneck import BottleneckModel, Detection, StationSnapshot
from ils.db import bottlenecks as bottleneck_db
from ils.db import machine_cycle as machine_cycle_db
from ils.db.database import Database

#: Sample the stations at most this often (LIMS time) while jobs move.
SAMPLE_EVERY = timedelta(seconds=30)
#: Detection window and the look-back before it (minutes; as in bench/bottleneck.py).
WINDOW_MIN, LOOKBACK_MIN = 15.0, 225.0
#: Arrival rates are measured over this much of the recent samples (minutes).
RATE_WINDOW_MIN = 60.0
NO_CAPACITY = "no staffed station: set staff with PUT /api/lab/stations/{station}"


class StationReader(Protocol):
    """The live snapshot of every station of a lab (``ils.services.stations.StationsPort``)."""

    async def read(self, lab_id: str) -> list[dict[str, Any]]: ...


#: A machine cycle-time reading: (station, epoch seconds, cycle_time_s).
CycleReading = tuple[str, float, float]


class CycleTimeReader(Protocol):
    """The cycle-time readings of a lab's machines taken in (after, until] (until None: no upper
    bound), by station, oldest first."""

    async def readings(
        self, lab_id: str, after: datetime, until: datetime | None = None
    ) -> list[CycleReading]: ...


class DatabaseCycleTimes:
    """Cycle-time readings from the stored telemetry (``ils.db.machine_cycle``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def readings(
        self, lab_id: str, after: datetime, until: datetime | None = None
    ) -> list[CycleReading]:
        async with self.db.connection() as conn:
            return await machine_cycle_db.station_cycle_readings(conn, lab_id, after, until)


def station_cycle_means(readings: Sequence[CycleReading]) -> dict[str, float]:
    """Mean ``cycle_time_s`` per station over the readings."""
    sums: dict[str, list[float]] = {}
    for station, _at, value in readings:
        total = sums.setdefault(station, [0.0, 0.0])
        total[0] += value
        total[1] += 1.0
    return {station: total / n for station, (total, n) in sums.items()}


def cycle_means_by_sample(
    readings: Sequence[CycleReading], sample_times: Sequence[float]
) -> list[dict[str, float]]:
    """Per sample time (epoch s, ascending): the station means of the readings since the previous
    sample (the first sample: since ``SAMPLE_EVERY`` before it)."""
    groups: list[list[CycleReading]] = [[] for _ in sample_times]
    first = sample_times[0] - SAMPLE_EVERY.total_seconds() if sample_times else 0.0
    for reading in readings:
        i = bisect.bisect_left(sample_times, reading[1])
        if i < len(groups) and reading[1] > (sample_times[i - 1] if i else first):
            groups[i].append(reading)
    return [station_cycle_means(g) for g in groups]


def minutes(at: datetime) -> float:
    return at.timestamp() / 60.0


def instant(at_min: float) -> datetime:
    return datetime.fromtimestamp(at_min * 60.0, UTC)


def servers(read: Mapping[str, Any]) -> int:
    """Staffed servers, as the station model counts them (staff, capped by the machines)."""
    staff, machines = int(read.get("staff") or 0), int(read.get("machines") or 0)
    return min(staff, machines) if machines > 0 else staff


def sample_row(
    read: Mapping[str, Any], arrived: int, machine_cycle_s: float = 0.0
) -> dict[str, Any]:
    """A sample row from a station's live snapshot (the ``station_samples`` columns, and the
    mean machine cycle time since the previous sample, which is not stored)."""
    return {
        "station": str(read["station"]),
        "queue": int(read.get("queue") or 0),
        "in_process": int(read.get("in_process") or 0),
        "capacity": servers(read),
        "arrived": arrived,
        "service_mean_min": float(read.get("mean_service_min") or 0.0),
        "machine_cycle_s": machine_cycle_s,
    }


def snapshot_of(row: Mapping[str, Any], at_min: float) -> StationSnapshot:
    """The detector's view of a sample: jobs in process beyond the servers count as waiting."""
    cap, in_process = int(row["capacity"]), int(row["in_process"])
    busy = min(in_process, cap) if cap > 0 else in_process
    return StationSnapshot(
        at_min,
        str(row["station"]),
        int(row["queue"]) + in_process - busy,
        busy,
        cap,
        int(row["arrived"]),
        float(row["service_mean_min"]),
        machine_cycle_s=float(row.get("machine_cycle_s") or 0.0),
    )


@dataclass(frozen=True)
class Observation:
    """One sample of the lab: the rows to store, the detection, and whether it changed."""

    at: datetime
    samples: list[dict[str, Any]]
    detection: Detection
    changed: bool
    previous: str | None


@dataclass(frozen=True)
class LiveLine:
    """What recommendations and what-ifs start from: the last detection, every station's live
    snapshot and the measured arrival rate per station (jobs per minute)."""

    lab_id: str
    as_of: datetime | None
    detection: Detection | None
    stations: list[dict[str, Any]]
    arrival_rates: dict[str, float] = field(default_factory=dict)


@dataclass
class LabBottleneck:
    lab_id: str
    stations: StationReader
    cycle_times: CycleTimeReader | None = None
    model: BottleneckModel = field(
        default_factory=lambda: BottleneckModel(
            WINDOW_MIN, LOOKBACK_MIN, keep_min=WINDOW_MIN + LOOKBACK_MIN
        )
    )
    arrived: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None
    sampled: datetime | None = None
    cycle_seen: datetime | None = None  # machine cycle readings up to here have been read
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def observe(self, arrivals: Mapping[str, int], at: datetime) -> Observation | None:
        """Count arrivals; sample and detect when a sample is due (else None)."""
        async with self.lock:
            for station, count in arrivals.items():
                self.arrived[station] = self.arrived.get(station, 0) + count
            self.latest = at if self.latest is None else max(self.latest, at)
            if self.sampled is not None and self.latest - self.sampled < SAMPLE_EVERY:
                return None
            reads = await self.stations.read(self.lab_id)
            cycle = await self.new_cycle_means(self.latest)
            return self.sample(reads, self.latest, cycle)

    async def new_cycle_means(self, at: datetime) -> dict[str, float]:
        """Mean cycle time per station of the readings taken after the latest one read before
        (at most the detector's window and look-back before ``at``)."""
        if self.cycle_times is None:
            return {}
        floor = at - timedelta(minutes=WINDOW_MIN + LOOKBACK_MIN)
        after = max(self.cycle_seen or at - SAMPLE_EVERY, floor)
        readings = await self.cycle_times.readings(self.lab_id, after)
        latest = max((r[1] for r in readings), default=None)
        self.cycle_seen = after if latest is None else datetime.fromtimestamp(latest, UTC)
        return station_cycle_means(readings)

    def sample(
        self,
        reads: Sequence[Mapping[str, Any]],
        at: datetime,
        machine_cycle: Mapping[str, float] | None = None,
    ) -> Observation:
        """Detect on the stations' snapshots (and their machines' mean cycle time since the
        previous sample)."""
        self.sampled = at
        cycle = machine_cycle or {}
        rows = [
            sample_row(r, self.arrived.get(str(r["station"]), 0), cycle.get(str(r["station"]), 0.0))
            for r in reads
        ]
        at_min = minutes(at)
        self.model.observe(snapshot_of(r, at_min) for r in rows)
        previous = self.model.last.station if self.model.last else None
        found = self.model.current(np.random.default_rng(int(at.timestamp())))
        if not any(r["capacity"] > 0 for r in rows):
            found = Detection(None, at_min, 0.0, evidence={"reason": NO_CAPACITY})
            self.model.last = found
        changed = found.station != previous
        return Observation(at, rows, found, changed, previous)

    def arrival_rates(self) -> dict[str, float]:
        """Jobs per minute reaching each station over the recent samples."""
        snaps = list(self.model.snapshots)
        if not snaps:
            return {}
        end = snaps[-1].at
        recent = [s for s in snaps if s.at >= end - RATE_WINDOW_MIN]
        first: dict[str, StationSnapshot] = {}
        last: dict[str, StationSnapshot] = {}
        for s in recent:
            first.setdefault(s.station, s)
            last[s.station] = s
        return {
            name: max(last[name].arrived - s.arrived, 0) / (last[name].at - s.at)
            for name, s in first.items()
            if last[name].at > s.at
        }

    async def live(self) -> LiveLine:
        async with self.lock:
            reads = await self.stations.read(self.lab_id)
            return LiveLine(self.lab_id, self.latest, self.model.last, reads, self.arrival_rates())

    def restore(self, rows: Sequence[Mapping[str, Any]], current: Mapping[str, Any] | None) -> None:
        """Rebuild from stored samples (oldest first) and the stored constraint."""
        by_time: dict[datetime, list[Mapping[str, Any]]] = {}
        for row in rows:
            by_time.setdefault(row["at"], []).append(row)
            self.arrived[str(row["station"])] = int(row["arrived"])
        for at, group in by_time.items():
            self.model.observe(snapshot_of(r, minutes(at)) for r in group)
            self.sampled = self.latest = at
        if current is not None:
            since = current["since"]
            self.model.last = Detection(
                current["station"],
                minutes(current["detected_at"]),
                float(current["confidence"]),
                since=None if since is None else minutes(since),
                evidence=dict(current["evidence"] or {}),
            )


async def load_lab(
    db: Database,
    lab_id: str,
    stations: StationReader,
    cycle_times: CycleTimeReader | None = None,
) -> LabBottleneck:
    """A lab's detector rebuilt from PostgreSQL (the samples of the last window + look-back, with
    their machine cycle times recomputed from the telemetry when ``cycle_times`` is given)."""
    lookback_s = (WINDOW_MIN + LOOKBACK_MIN) * 60.0
    async with db.connection() as conn:
        rows = await bottleneck_db.recent_samples(conn, lab_id, lookback_s)
        current = await bottleneck_db.bottleneck(conn, lab_id)
    lab = LabBottleneck(lab_id, stations, cycle_times)
    if cycle_times is not None and rows:
        rows = await with_cycle_means(rows, lab_id, cycle_times)
        lab.cycle_seen = rows[-1]["at"]
    lab.restore(rows, current)
    return lab


async def with_cycle_means(
    rows: Sequence[Mapping[str, Any]], lab_id: str, cycle_times: CycleTimeReader
) -> list[dict[str, Any]]:
    """Stored sample rows (oldest first) with the mean machine cycle time each sample had."""
    times = sorted({row["at"] for row in rows})
    readings = await cycle_times.readings(lab_id, times[0] - SAMPLE_EVERY, times[-1])
    means = cycle_means_by_sample(readings, [t.timestamp() for t in times])
    by_time = dict(zip(times, means, strict=True))
    return [
        {**row, "machine_cycle_s": by_time[row["at"]].get(str(row["station"]), 0.0)} for row in rows
    ]


class BottleneckPort(Protocol):
    """Where each lab's detector lives (a Ray actor per lab, or this process)."""

    async def observe(
        self, lab_id: str, arrivals: Mapping[str, int], at: datetime
    ) -> Observation | None: ...

    async def live(self, lab_id: str) -> LiveLine: ...


class InProcessBottlenecks:
    """The in-process default: detectors in this process, rebuilt from the database."""

    def __init__(
        self, db: Database, stations: StationReader, cycle_times: CycleTimeReader | None = None
    ) -> None:
        self.db = db
        self.stations = stations
        self.cycle_times = DatabaseCycleTimes(db) if cycle_times is None else cycle_times
        self._labs: dict[str, LabBottleneck] = {}
        self._lock = asyncio.Lock()

    async def lab(self, lab_id: str) -> LabBottleneck:
        async with self._lock:
            if lab_id not in self._labs:
                self._labs[lab_id] = await load_lab(
                    self.db, lab_id, self.stations, self.cycle_times
                )
            return self._labs[lab_id]

    async def observe(
        self, lab_id: str, arrivals: Mapping[str, int], at: datetime
    ) -> Observation | None:
        return await (await self.lab(lab_id)).observe(arrivals, at)

    async def live(self, lab_id: str) -> LiveLine:
        return await (await self.lab(lab_id)).live()
