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
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from ils.analytics.bottleneck import BottleneckModel, Detection, StationSnapshot
from ils.db import bottlenecks as bottleneck_db
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


def minutes(at: datetime) -> float:
    return at.timestamp() / 60.0


def instant(at_min: float) -> datetime:
    return datetime.fromtimestamp(at_min * 60.0, UTC)


def servers(read: Mapping[str, Any]) -> int:
    """Staffed servers, as the station model counts them (staff, capped by the machines)."""
    staff, machines = int(read.get("staff") or 0), int(read.get("machines") or 0)
    return min(staff, machines) if machines > 0 else staff


def sample_row(read: Mapping[str, Any], arrived: int) -> dict[str, Any]:
    """A ``station_samples`` row from a station's live snapshot."""
    return {
        "station": str(read["station"]),
        "queue": int(read.get("queue") or 0),
        "in_process": int(read.get("in_process") or 0),
        "capacity": servers(read),
        "arrived": arrived,
        "service_mean_min": float(read.get("mean_service_min") or 0.0),
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
    model: BottleneckModel = field(
        default_factory=lambda: BottleneckModel(
            WINDOW_MIN, LOOKBACK_MIN, keep_min=WINDOW_MIN + LOOKBACK_MIN
        )
    )
    arrived: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None
    sampled: datetime | None = None
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
            return self.sample(reads, self.latest)

    def sample(self, reads: Sequence[Mapping[str, Any]], at: datetime) -> Observation:
        self.sampled = at
        rows = [sample_row(r, self.arrived.get(str(r["station"]), 0)) for r in reads]
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


async def load_lab(db: Database, lab_id: str, stations: StationReader) -> LabBottleneck:
    """A lab's detector rebuilt from PostgreSQL (the samples of the last window + look-back)."""
    lookback_s = (WINDOW_MIN + LOOKBACK_MIN) * 60.0
    async with db.connection() as conn:
        rows = await bottleneck_db.recent_samples(conn, lab_id, lookback_s)
        current = await bottleneck_db.bottleneck(conn, lab_id)
    lab = LabBottleneck(lab_id, stations)
    lab.restore(rows, current)
    return lab


class BottleneckPort(Protocol):
    """Where each lab's detector lives (a Ray actor per lab, or this process)."""

    async def observe(
        self, lab_id: str, arrivals: Mapping[str, int], at: datetime
    ) -> Observation | None: ...

    async def live(self, lab_id: str) -> LiveLine: ...


class InProcessBottlenecks:
    """The in-process default: detectors in this process, rebuilt from the database."""

    def __init__(self, db: Database, stations: StationReader) -> None:
        self.db = db
        self.stations = stations
        self._labs: dict[str, LabBottleneck] = {}
        self._lock = asyncio.Lock()

    async def lab(self, lab_id: str) -> LabBottleneck:
        async with self._lock:
            if lab_id not in self._labs:
                self._labs[lab_id] = await load_lab(self.db, lab_id, self.stations)
            return self._labs[lab_id]

    async def observe(
        self, lab_id: str, arrivals: Mapping[str, int], at: datetime
    ) -> Observation | None:
        return await (await self.lab(lab_id)).observe(arrivals, at)

    async def live(self, lab_id: str) -> LiveLine:
        return await (await self.lab(lab_id)).live()
