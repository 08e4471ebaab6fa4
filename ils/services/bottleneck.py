"""Bottlenecks of a lab: the current constraint, staff reallocation, utilisation over time and
what-ifs on the digital twin (API.md "Bottlenecks", "Live lab").

The detector lives behind ``BottleneckPort`` (``ils.services.bottleneck_model``); this service
does the I/O around it. Committed station movements reach ``after_movements`` (the stations
service calls it after commit); a due sample is stored in ``station_samples`` and a change of
constraint is committed as ``bottleneck.changed`` (with the lab's constraint row) and then
published. A change also starts a recommendation in the background; a recommendation whose moves
differ from the last one is committed as ``bottleneck.recommendation`` and published.

Recommendations and what-ifs start from the live line (``live_line_state``): each station's
staff, machines, WIP and rolling service mean from the station actors, and arrival rates measured
from the samples. Routes are not observed per job: they are rebuilt as nested routes that
reproduce every station's measured visit share, which is all the queueing model uses. The
service-time CV is not measured live: 1.0 (exponential) is assumed and stated in the answer.
CPU work runs on a worker thread and is bounded (see ``recommendation_spec`` and ``WhatIf``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ils.analytics.bottleneck import (
    Detection,
    LineState,
    RunSpec,
    WhatIf,
    line_state_from_snapshot,
    predict_constraint,
    recommend,
    run_what_if,
)
from ils.analytics.bottleneck.twin import expected_events
from ils.db import bottlenecks as bottleneck_db
from ils.db import events as event_log
from ils.db import tenants
from ils.db.database import Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.domain.event import NewEvent, Topic
from ils.domain.lims_event import Movement
from ils.errors import Conflict, Forbidden
from ils.services.bottleneck_model import BottleneckPort, LiveLine, Observation, instant
from ils.services.ports import Clock, Publisher, publish_committed

log = logging.getLogger(__name__)

ASSUMED_CV = 1.0
PREDICTION_HORIZON_MIN = 120.0
#: A recommendation is reused while the line it was computed on is younger than this.
RECOMMEND_EVERY = timedelta(minutes=5)
#: Work bound of one recommendation: simulated events over every twin check.
RECOMMEND_MAX_EVENTS = 600_000
RECOMMEND_SEEDS, RECOMMEND_CANDIDATES = 3, 3
#: Station samples are kept this long (the longest utilisation range is 7 days) and a lab's older
#: samples are deleted at most once per ``PRUNE_EVERY`` of its samples' time.
SAMPLE_RETENTION = timedelta(days=8)
PRUNE_EVERY = timedelta(hours=1)
#: range -> (span, bucket) of GET /api/lab/utilization.
RANGES = {
    "last1h": (timedelta(hours=1), timedelta(minutes=5)),
    "last8h": (timedelta(hours=8), timedelta(minutes=30)),
    "last24h": (timedelta(hours=24), timedelta(hours=1)),
    "last7days": (timedelta(days=7), timedelta(hours=6)),
}


def finite(value: Any) -> Any:
    """JSON-safe figures: non-finite floats become null (the log is jsonb)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def detection_body(found: Detection) -> dict[str, Any]:
    return {
        "station": found.station,
        "since": None if found.since is None else instant(found.since).isoformat(),
        "confidence": round(found.confidence, 4),
        "shifting_with": list(found.shifting_with),
        "evidence": finite(found.evidence),
    }


def nested_routes(shares: dict[str, float], order: Sequence[str]) -> list[dict[str, Any]]:
    """Routes whose visit shares equal ``shares`` (each in 0..1): route k visits every station
    with a share of at least the k-th largest share, and carries the step down to the next."""
    levels = sorted({s for s in shares.values() if s > 0}, reverse=True)
    routes = []
    for k, level in enumerate(levels):
        below = levels[k + 1] if k + 1 < len(levels) else 0.0
        path = [n for n in order if shares.get(n, 0.0) >= level]
        routes.append({"stations": path, "share": level - below})
    return routes


def live_line_state(line: LiveLine) -> LineState | None:
    """The twin's state of the live line; None while no station has a measured service time
    and arrivals."""
    reads = [r for r in line.stations if (r.get("mean_service_min") or 0) > 0]
    rates = {
        str(r["station"]): line.arrival_rates.get(str(r["station"]))
        or float(r.get("throughput_per_hour") or 0.0) / 60.0
        for r in reads
    }
    top = max(rates.values(), default=0.0)
    if top <= 0:
        return None
    snapshot = {
        "stations": {
            str(r["station"]): {
                "staff": int(r.get("staff") or 0),
                "machines": int(r.get("machines") or 0),
                "queue": int(r.get("queue") or 0),
                "in_process": int(r.get("in_process") or 0),
                "service_mean_min": float(r["mean_service_min"]),
                "service_cv": ASSUMED_CV,
            }
            for r in reads
        },
        "arrival_rate_per_min": top,
        "routes": nested_routes({n: v / top for n, v in rates.items()}, list(rates)),
    }
    return line_state_from_snapshot(snapshot)


def recommendation_spec(state: LineState) -> RunSpec:
    """An 8-hour shift plus half as long to drain, shortened so every twin check of one
    recommendation stays under ``RECOMMEND_MAX_EVENTS`` simulated events."""
    shift = 480.0
    runs = 2 * RECOMMEND_SEEDS * RECOMMEND_CANDIDATES
    per_run = expected_events(state, RunSpec(shift * 1.5, sample_every=5.0))
    if runs * per_run > RECOMMEND_MAX_EVENTS:
        shift = max(30.0, shift * RECOMMEND_MAX_EVENTS / (runs * per_run))
    return RunSpec(shift * 1.5, sample_every=5.0, count_until=shift)


def compute_recommendation(line: LiveLine) -> dict[str, Any]:
    """CPU-bound (a worker thread): search moves on the queueing model, check them on the twin."""
    state = live_line_state(line)
    constraint = line.detection.station if line.detection else None
    basis = None if line.as_of is None else line.as_of.isoformat()
    if state is None:
        return {
            "moves": [],
            "expected_cycle_time_change_pct": None,
            "expected_utilization": {},
            "method": None,
            "constraint": constraint,
            "based_on": basis,
            "reason": "no measured service times and arrivals yet",
        }
    trained = {str(r["station"]): list(r.get("cross_trained") or []) for r in line.stations}
    first = int(line.as_of.timestamp()) % 100_000 if line.as_of else 0
    seeds = [first + i for i in range(RECOMMEND_SEEDS)]
    found = recommend(
        state, trained, recommendation_spec(state), seeds, candidates=RECOMMEND_CANDIDATES
    )
    body = found.as_dict() | {
        "constraint": constraint,
        "based_on": basis,
        "candidates_checked": found.candidates_checked,
        "assumptions": {"service_cv": ASSUMED_CV, "routes": "nested, from measured visit shares"},
    }
    if not found.plan.moves:
        body["reason"] = "no move of cross-trained staff shortens the cycle on the twin"
    return dict(finite(body))


class Bottlenecks:
    def __init__(
        self, db: Database, port: BottleneckPort, publisher: Publisher, clock: Clock
    ) -> None:
        self.db = db
        self.port = port
        self.publisher = publisher
        self.clock = clock
        self._cache: dict[str, tuple[datetime | None, str | None, dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pruned: dict[str, datetime] = {}

    # -- the write path -------------------------------------------------------------------------

    async def after_movements(self, lab_id: str, moves: Sequence[Movement]) -> None:
        """Count committed movements; store a due sample; commit and publish a change."""
        if not moves:
            return
        arrivals = Counter(str(m.station) for m in moves if m.status == "queued")
        at = max(m.occurred_at for m in moves)
        observation = await self.port.observe(lab_id, dict(arrivals), at)
        if observation is not None:
            await self.record(lab_id, observation)

    async def record(self, lab_id: str, obs: Observation) -> None:
        body = detection_body(obs.detection)
        async with self.db.transaction() as conn:
            await bottleneck_db.insert_samples(conn, lab_id, obs.at, obs.samples)
            last = self._pruned.get(lab_id)
            if last is None or obs.at - last >= PRUNE_EVERY:
                await bottleneck_db.prune_samples(conn, lab_id, obs.at - SAMPLE_RETENTION)
                self._pruned[lab_id] = obs.at
            if not obs.changed:
                return
            await tenants.lock_heads(conn, [lab_id])
            since = None if obs.detection.since is None else instant(obs.detection.since)
            await bottleneck_db.save_detection(
                conn, lab_id, obs.detection.station, since, obs.detection.confidence,
                body["evidence"], obs.at,
            )  # fmt: skip
            data = body | {"previous": obs.previous, "detected_at": obs.at.isoformat()}
            event = NewEvent("bottleneck.changed", Topic.STATIONS, obs.at, data)
            stored = await event_log.append(conn, lab_id, [event])
        await publish_committed(self.publisher, stored)
        self._spawn(self.refresh_recommendation(lab_id))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("bottleneck recommendation failed", exc_info=task.exception())

    async def refresh_recommendation(self, lab_id: str) -> dict[str, Any]:
        """The lab's recommendation (reused while fresh); a new set of moves is an event."""
        line = await self.port.live(lab_id)
        constraint = line.detection.station if line.detection else None
        cached = self._cache.get(lab_id)
        if cached is not None and cached[1] == constraint:
            basis = cached[0]
            fresh = basis == line.as_of or (
                basis is not None
                and line.as_of is not None
                and line.as_of - basis < RECOMMEND_EVERY
            )
            if fresh:
                return cached[2]
        body = await asyncio.to_thread(compute_recommendation, line)
        self._cache[lab_id] = (line.as_of, constraint, body)
        if body["method"] is None:
            return body  # nothing measured yet: nothing to store or announce
        at = line.as_of or self.clock()
        async with self.db.transaction() as conn:
            await tenants.lock_heads(conn, [lab_id])
            row = await bottleneck_db.bottleneck(conn, lab_id)
            before = ((row or {}).get("recommendation") or {}).get("moves") or []
            await bottleneck_db.save_recommendation(conn, lab_id, body, at)
            stored = []
            if before != body["moves"]:
                event = NewEvent("bottleneck.recommendation", Topic.STATIONS, at, body)
                stored = await event_log.append(conn, lab_id, [event])
        await publish_committed(self.publisher, stored)
        return body

    async def settle(self) -> None:
        """Wait for background recommendations (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the read side --------------------------------------------------------------------------

    async def current(self, principal: Principal) -> dict[str, Any]:
        """GET /api/bottlenecks: the constraint(s) now and the predicted next one."""
        line = await self.port.live(_lab_of(principal, Permission.LAB_READ))
        found = line.detection
        items = [] if found is None or found.station is None else [detection_body(found)]
        reason = None
        if not items:
            reason = "no samples yet" if found is None else found.evidence.get("reason")
        state = live_line_state(line)
        prediction = None
        if state is not None:
            ahead = predict_constraint(state, PREDICTION_HORIZON_MIN)
            prediction = {
                "station": ahead.station,
                "horizon_min": ahead.horizon_min,
                "projected_load": finite({k: round(v, 4) for k, v in ahead.projected_load.items()}),
                "method": "projected work (WIP, upstream WIP, current arrival rate) / capacity",
            }
        as_of = None if line.as_of is None else line.as_of.isoformat()
        return {"items": items, "as_of": as_of, "reason": reason, "prediction": prediction}

    async def recommendations(self, principal: Principal) -> dict[str, Any]:
        """GET /api/bottlenecks/recommendations."""
        return await self.refresh_recommendation(_lab_of(principal, Permission.LAB_READ))

    async def utilization(self, principal: Principal, range_name: str) -> dict[str, Any]:
        """GET /api/lab/utilization: busy / staffed servers per bucket, per station and lab-wide."""
        lab_id = _lab_of(principal, Permission.LAB_READ)
        span, bucket = RANGES[range_name]
        end = self.clock()
        start = end - span
        async with self.db.connection() as conn:
            rows = await bottleneck_db.utilization(conn, lab_id, start, end, bucket.total_seconds())
        return utilization_body(rows, range_name, start, end, bucket)

    async def what_if(self, principal: Principal, request: WhatIf, seed: int) -> dict[str, Any]:
        """POST /api/workflow/optimize: the live line and a changed one on paired replications.
        Nothing live changes; bad requests are refused before any simulation runs."""
        lab_id = _lab_of(principal, Permission.LAB_CONFIGURE)
        line = await self.port.live(lab_id)
        state = live_line_state(line)
        if state is None:
            raise Conflict("no live state to start the twin from: no measured service times yet")
        lab_staff = sum(int(r.get("staff") or 0) for r in line.stations)
        result = await asyncio.to_thread(run_what_if, state, request, lab_staff, seed)
        return finite(
            {
                "base_cycle_time_min": result.base_cycle_time,
                "cycle_time_min": result.alt_cycle_time,
                "expected_cycle_time_change_pct": result.change_pct,
                "cycle_time_change_ci95": [result.ci_low, result.ci_high],
                "replications": result.replications,
                "expected_utilization": result.alt_utilization,
                "utilization_sd": result.alt_utilization_sd,
                "method": "digital twin (simpy), paired replications with common random numbers",
                "initial_state": _state_body(state, line),
            }
        )


def _state_body(state: LineState, line: LiveLine) -> dict[str, Any]:
    return {
        "as_of": None if line.as_of is None else line.as_of.isoformat(),
        "arrival_rate_per_min": state.arrival_rate,
        "service_cv": ASSUMED_CV,
        "stations": {
            name: {
                "staff": st.staff,
                "servers": st.servers,
                "queue": st.queue,
                "in_process": st.in_process,
                "service_mean_min": st.service_mean,
            }
            for name, st in state.stations.items()
        },
    }


def utilization_body(
    rows: list[dict[str, Any]], range_name: str, start: datetime, end: datetime, bucket: timedelta
) -> dict[str, Any]:
    buckets: dict[datetime, dict[str, Any]] = {}
    totals: dict[str | None, list[float]] = {}
    for row in rows:
        entry = buckets.setdefault(
            row["bucket"], {"start": row["bucket"].isoformat(), "lab": None, "stations": {}}
        )
        value = row["busy"] / row["capacity"] if row["capacity"] else None
        if row["station"] is None:
            entry["lab"], entry["samples"] = value, int(row["samples"])
        else:
            entry["stations"][row["station"]] = value
        total = totals.setdefault(row["station"], [0.0, 0.0])
        total[0] += row["busy"]
        total[1] += row["capacity"]
    mean = {k: (b / c if c else None) for k, (b, c) in totals.items()}
    return {
        "range": range_name,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "bucket_min": bucket.total_seconds() / 60.0,
        "buckets": list(buckets.values()),
        "mean": {"lab": mean.pop(None, None), "stations": mean},
        "method": "busy servers / staffed servers, averaged over samples",
    }


def _lab_of(principal: Principal, permission: Permission) -> str:
    principal.require(permission)
    if principal.tenant_kind is not TenantKind.LAB:
        raise Forbidden("only a lab has bottlenecks")
    return principal.tenant_id
