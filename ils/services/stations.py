"""The live lab: one station's state (a pure model), the port that holds them, and the use-cases.

``StationModel`` is the state a ``StationActor`` keeps in memory: the jobs queued and in process,
the resources (staff, machines, cross-training), rolling service times, throughput per hour,
utilisation and equipment status. It is fed :class:`~ils.domain.lims_event.Movement` records
(``station_movements`` rows) and is rebuilt by replaying them from PostgreSQL.

Decisions:

- A job's presence at the station is its movement with the highest LIMS sequence (ties: ``left``
  over ``done`` over ``in_process`` over ``queued``), so feeding the same movements in another
  order gives the same queue (as long as none arrives more than ``WINDOW`` late, see below).
- A service time pairs a job's ``done`` with its latest earlier ``in_process`` at this station,
  whichever arrives first. Times are the LIMS's ``occurred_at`` ("model time": the simulator may
  run faster than real time), and the rolling window is the last ``WINDOW`` of that time.
- Utilisation is the offered load over capacity, ``throughput/h x mean service / 60 / servers``
  where servers are the staff, capped by the machines when the station has machines. Without
  resources or completions it is null.
- A job done at the station or gone from it is forgotten once its latest movement here is more
  than ``WINDOW`` older than the station's latest: no figure needs it any more (its service time
  has left the window), so the memory holds the jobs queued and in process and one window's
  passage, not every job ever seen. A movement that old of a job the station does not know is
  ignored: it is the past of a job it forgot (a catch-up's overlap, a replica's late hand-over),
  and taking it would put that job back in the queue for good. So a job first reported more than
  ``WINDOW`` late counts from its next movement on.
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any, Protocol

from ils.db import audit, tenants
from ils.db import events as event_log
from ils.db import stations as station_db
from ils.db.database import Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.domain.lims_event import Movement
from ils.domain.station import LINE, Station
from ils.errors import Forbidden
from ils.services.ports import Publisher, publish_committed

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
#: How far back (before the latest movement) a station's history is replayed on rebuild.
REBUILD_LOOKBACK = timedelta(days=7)
#: At most one snapshot event per station per this many seconds (2/s).
SNAPSHOT_INTERVAL_S = 0.5
#: The window is pruned every this much LIMS time: a prune costs everything held (at every movement
#: a busy window would cost that each time), and the station holds at most this beyond the window.
PRUNE_EVERY = WINDOW / 4
_TIE = {"queued": 0, "in_process": 1, "done": 2, "left": 3}
#: Presences no figure counts: the job is forgotten once they are older than the window.
_FINISHED = frozenset({"done", "left"})


@dataclass(frozen=True)
class Resources:
    staff: int = 0
    machines: int = 0
    cross_trained: tuple[str, ...] = ()


class _Job:
    """What a station holds of one job: its presence, its open service, the movements it saw.

    The presence is the movement with the highest (sequence, tie); ``last_at`` is when the job's
    latest movement here occurred. ``start`` is an ``in_process`` waiting for its ``done`` and
    ``early_done`` a ``done`` that arrived before its ``in_process``. ``seen`` holds the sequences
    already fed, so a movement fed again (a replay after a rebuild, a catch-up's overlap) changes
    nothing. Slots, not a dict: a busy station holds tens of thousands of these.
    """

    __slots__ = ("early_done", "last_at", "seen", "seq", "start", "status", "tie")

    def __init__(self, seq: int, status: str, at: datetime) -> None:
        self.seq, self.tie, self.status, self.last_at = seq, _TIE[status], status, at
        self.start: tuple[int, datetime] | None = None
        self.early_done: tuple[int, datetime] | None = None
        self.seen: tuple[int, ...] = ()

    def present(self, seq: int, status: str, at: datetime) -> None:
        tie = _TIE[status]
        if (seq, tie, status) > (self.seq, self.tie, self.status):
            self.seq, self.tie, self.status = seq, tie, status
        self.last_at = max(self.last_at, at)


@dataclass
class StationModel:
    lab_id: str
    station: Station
    resources: Resources = field(default_factory=Resources)
    equipment_status: str = "ok"
    now: datetime | None = None
    _jobs: dict[str, _Job] = field(default_factory=dict)
    #: Service times: when each ended (POSIX seconds of LIMS time) and how long it took (minutes).
    _done_at: array[float] = field(default_factory=lambda: array("d"))
    _minutes: array[float] = field(default_factory=lambda: array("d"))
    _last_snapshot: float = float("-inf")
    _pruned_at: datetime | None = None

    def feed(self, move: Movement) -> None:
        """Take one movement of a job at this station into account (once: a repeat is ignored)."""
        at = move.occurred_at
        job = self._jobs.get(move.job_id)
        if job is None:
            if self.now is not None and at <= self.now - WINDOW:
                return  # the past of a job this station forgot (see the module's decisions)
            job = self._jobs[move.job_id] = _Job(move.sequence, move.status, at)
        elif move.sequence in job.seen:
            return
        else:
            job.present(move.sequence, move.status, at)
        job.seen += (move.sequence,)
        self.now = at if self.now is None else max(self.now, at)
        if move.status == "in_process":
            self._started(job, move.sequence, at)
        elif move.status == "done":
            self._finished(job, move.sequence, at)
        if self._pruned_at is None:
            self._pruned_at = self.now
        elif self.now - self._pruned_at >= PRUNE_EVERY:
            self.prune()

    def _started(self, job: _Job, seq: int, at: datetime) -> None:
        early = job.early_done
        if early is not None and early[0] > seq:
            job.early_done = None
            self._served(at, early[1])
        elif job.start is None or job.start[0] < seq:
            job.start = (seq, at)

    def _finished(self, job: _Job, seq: int, at: datetime) -> None:
        if job.start is not None and job.start[0] < seq:
            self._served(job.start[1], at)
            job.start = None
        else:
            job.early_done = (seq, at)

    def _served(self, start: datetime, done: datetime) -> None:
        self._done_at.append(done.timestamp())
        self._minutes.append((done - start).total_seconds() / 60.0)

    def count(self, status: str) -> int:
        return sum(1 for job in self._jobs.values() if job.status == status)

    def held(self) -> int:
        """Jobs and service times in memory: what it grows with, and what the prunes bound."""
        return len(self._jobs) + len(self._minutes)

    def recent_services(self) -> list[float]:
        if self.now is None:
            return []
        since = (self.now - WINDOW).timestamp()
        return [m for at, m in zip(self._done_at, self._minutes, strict=True) if at > since]

    def servers(self) -> int:
        staff, machines = self.resources.staff, self.resources.machines
        return min(staff, machines) if machines > 0 else staff

    def snapshot(self) -> dict[str, Any]:
        recent = self.recent_services()
        throughput = len(recent) * (3600.0 / WINDOW.total_seconds())
        mean = fmean(recent) if recent else None
        servers = self.servers()
        utilization = None
        if mean is not None and servers > 0:
            utilization = round(throughput * mean / 60.0 / servers, 4)
        return {
            "station": str(self.station),
            "queue": self.count("queued"),
            "in_process": self.count("in_process"),
            "staff": self.resources.staff,
            "machines": self.resources.machines,
            "cross_trained": list(self.resources.cross_trained),
            "throughput_per_hour": round(throughput, 3),
            "mean_service_min": round(mean, 3) if mean is not None else None,
            "utilization": utilization,
            "equipment_status": self.equipment_status,
            "as_of": self.now.isoformat() if self.now else None,
        }

    def snapshot_due(self, wall_s: float) -> bool:
        """Throttle: True at most once per ``SNAPSHOT_INTERVAL_S`` of wall time."""
        if wall_s - self._last_snapshot < SNAPSHOT_INTERVAL_S:
            return False
        self._last_snapshot = wall_s
        return True

    def prune(self) -> None:
        """Forget service times, and jobs done or gone, outside the rolling window."""
        if self.now is None:
            return
        since = self.now - WINDOW
        after = since.timestamp()
        kept = [(at, m) for at, m in zip(self._done_at, self._minutes, strict=True) if at > after]
        self._done_at = array("d", (at for at, _ in kept))
        self._minutes = array("d", (m for _, m in kept))
        self._jobs = {
            job_id: job
            for job_id, job in self._jobs.items()
            if job.last_at > since or job.status not in _FINISHED
        }
        self._pruned_at = self.now


def movement_from_row(row: dict[str, Any]) -> Movement:
    return Movement(
        Station(row["station"]), row["job_id"], row["status"], row["sequence"], row["occurred_at"]
    )


def resources_from_row(row: dict[str, Any] | None) -> Resources:
    if row is None:
        return Resources()
    return Resources(row["staff"], row["machines"], tuple(row["cross_trained"]))


async def load_station(db: Database, lab_id: str, station: Station) -> StationModel:
    """A station's state rebuilt from PostgreSQL: its resources and its movement history."""
    async with db.connection() as conn:
        resources = await station_db.station_resources(conn, lab_id, str(station))
        rows = await station_db.movements(
            conn, lab_id, str(station), REBUILD_LOOKBACK.total_seconds()
        )
    model = StationModel(lab_id, station, resources_from_row(resources))
    for row in rows:
        model.feed(movement_from_row(row))
    model.prune()
    return model


@dataclass
class LiveStation:
    """A station's live model and its catch-ups from PostgreSQL.

    Movements reach a live station after their commit, from the feed of the API replica that
    committed them; a replica lost before it fed them would leave the station short of them for
    good. So the station also catches up: movements numbered after what it had seen, read again
    with one round of overlap (numbers are drawn before commit, so a later commit can carry a
    lower number), fed again harmlessly (``StationModel.feed`` is idempotent).
    """

    model: StationModel
    #: Movement numbers seen at the last two catch-ups (the older one is where the next reads).
    seen: tuple[int, int]
    caught_at: float

    def due(self, wall_s: float, every_s: float) -> bool:
        return wall_s - self.caught_at >= every_s

    async def catch_up(self, db: Database, wall_s: float) -> None:
        self.caught_at = wall_s
        model = self.model
        async with db.connection() as conn:
            rows = await station_db.movements_after(
                conn, model.lab_id, str(model.station), self.seen[0]
            )
        for row in rows:
            model.feed(movement_from_row(row))
        newest = max([self.seen[1], *(int(r["n"]) for r in rows)])
        self.seen = (self.seen[1], newest)


async def load_live_station(
    db: Database, lab_id: str, station: Station, wall_s: float
) -> LiveStation:
    """The station rebuilt from PostgreSQL, its catch-ups reading after its newest movement."""
    async with db.connection() as conn:
        last = await station_db.last_movement(conn, lab_id, str(station))
    return LiveStation(await load_station(db, lab_id, station), (last, last), wall_s)


class StationsPort(Protocol):
    """Where the live station state lives (Ray actors, or this process)."""

    async def apply(
        self, lab_id: str, station: Station, moves: Sequence[Movement], wall_s: float
    ) -> dict[str, Any] | None:
        """Feed committed movements; return a snapshot when one is due (throttled)."""

    async def read(self, lab_id: str) -> list[dict[str, Any]]: ...

    async def configure(self, lab_id: str, station: Station, resources: Resources) -> None: ...


class InProcessStations:
    """The in-process default: models in this process, loaded from the database on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._models: dict[tuple[str, Station], StationModel] = {}
        self._lock = asyncio.Lock()

    async def model(self, lab_id: str, station: Station) -> StationModel:
        async with self._lock:
            key = (lab_id, station)
            if key not in self._models:
                self._models[key] = await load_station(self.db, lab_id, station)
            return self._models[key]

    async def apply(
        self, lab_id: str, station: Station, moves: Sequence[Movement], wall_s: float
    ) -> dict[str, Any] | None:
        model = await self.model(lab_id, station)
        for move in moves:
            model.feed(move)
        return model.snapshot() if model.snapshot_due(wall_s) else None

    async def read(self, lab_id: str) -> list[dict[str, Any]]:
        return [(await self.model(lab_id, s)).snapshot() for s in LINE]

    async def configure(self, lab_id: str, station: Station, resources: Resources) -> None:
        (await self.model(lab_id, station)).resources = resources


#: Told of committed movements after the stations took them (the bottleneck detectors).
MovementObserver = Callable[[str, Sequence[Movement]], Awaitable[None]]


class Stations:
    """Use-cases of the live lab: read the stations, change resources, fan movements out."""

    def __init__(self, db: Database, port: StationsPort, publisher: Publisher) -> None:
        self.db = db
        self.port = port
        self.publisher = publisher
        self.observers: list[MovementObserver] = []
        #: Set (``station_feed.StationFeed``) to feed the stations in the background.
        self.feed: Any = None

    async def committed(
        self, lab_id: str, moves: Sequence[Movement], now: datetime, wall_s: float
    ) -> None:
        """After a commit: hand the movements to the background feed, else feed them now."""
        if self.feed is not None:
            self.feed.submit(lab_id, moves, now, wall_s)
        elif moves:
            await self.after_commit(lab_id, moves, now, wall_s)

    async def settle(self) -> None:
        """Wait until every movement handed over was fed (reads after a webhook; shutdown)."""
        if self.feed is not None:
            await self.feed.settle()

    async def list_stations(self, principal: Principal) -> dict[str, Any]:
        lab_id = _lab_of(principal, Permission.LAB_READ)
        await self.settle()  # the movements this replica committed are in the answer
        return {"items": await self.port.read(lab_id), "next_cursor": None}

    async def configure(
        self, principal: Principal, station: Station, resources: Resources, now: datetime
    ) -> dict[str, Any]:
        lab_id = _lab_of(principal, Permission.LAB_CONFIGURE)
        async with self.db.transaction() as conn:
            await station_db.upsert_resources(
                conn,
                lab_id,
                str(station),
                resources.staff,
                resources.machines,
                list(resources.cross_trained),
                now,
            )
            details = {"station": str(station), "staff": resources.staff}
            details |= {"machines": resources.machines, "cross_trained": resources.cross_trained}
            await audit.record(
                conn, lab_id, now, principal.user_id, "station.resources", str(station), details
            )
            rows = await station_db.resources(conn, lab_id)
        await self.port.configure(lab_id, station, resources)
        items = [
            {
                "station": r["station"],
                "staff": r["staff"],
                "machines": r["machines"],
                "cross_trained": r["cross_trained"],
            }
            for r in rows
        ]
        return {"items": items, "next_cursor": None}

    async def after_commit(
        self,
        lab_id: str,
        moves: Sequence[Movement],
        now: datetime,
        wall_s: float,
        runs: Sequence[Sequence[Movement]] | None = None,
    ) -> None:
        """Push committed movements to the station state; publish due snapshots (throttled).

        The observers are told of ``runs`` one after another (by default all the movements at
        once): a background feed that gathered many requests keeps their LIMS times apart.
        """
        by_station: dict[Station, list[Movement]] = {}
        for move in moves:
            by_station.setdefault(move.station, []).append(move)
        answers = await asyncio.gather(
            *(self.port.apply(lab_id, s, group, wall_s) for s, group in by_station.items()),
            return_exceptions=True,
        )
        snapshots: list[dict[str, Any]] = []
        for station, answer in zip(by_station, answers, strict=True):
            if isinstance(answer, BaseException):
                # Lost nothing: the station's actor rebuilds from the committed history.
                log.warning("station %s of %s missed movements: %r", station, lab_id, answer)
            elif answer is not None:
                snapshots.append(answer)
        if snapshots:
            await self.publish_snapshots(lab_id, snapshots, now)
        for run in [moves] if runs is None else runs:
            for observe in self.observers:
                try:
                    await observe(lab_id, run)
                except Exception:  # committed already: an observer's failure is not the webhook's
                    log.warning("observer of %s movements failed", lab_id, exc_info=True)

    async def publish_snapshots(
        self, lab_id: str, snapshots: list[dict[str, Any]], now: datetime
    ) -> list[StoredEvent]:
        new = [NewEvent("station.snapshot", Topic.STATIONS, now, {"station": s}) for s in snapshots]
        async with self.db.transaction() as conn:
            await tenants.lock_heads(conn, [lab_id])
            stored = await event_log.append(conn, lab_id, new)
        await publish_committed(self.publisher, stored)
        return stored


def _lab_of(principal: Principal, permission: Permission) -> str:
    principal.require(permission)
    if principal.tenant_kind is not TenantKind.LAB:
        raise Forbidden("only a lab has stations")
    return principal.tenant_id
