"""LIMS webhook ingress: verify, read, de-duplicate and apply job events (API.md "LIMS").

One webhook request (or a group of them, see below) is one transaction: it locks the lab's
orders it names (in id order, before the tenants' heads, as every order writer does), claims the
event ids (the primary key of ``lims_webhook_events`` is the de-duplication), applies each fresh
event with the pure :func:`ils.domain.lims_event.apply`, and writes the orders' new positions,
the breakage and inspection records, the station movements, the events in both tenants' logs
and one audit row. After commit it publishes the events and hands the movements to the
stations.

Decisions:

- An event names its order by ``data.order_id`` (the order ILS sent). Its ``job_id`` is recorded
  as the order's ``lims_job_id`` when the order has none yet (an event may arrive before the
  relay records the LIMS's answer); a different ``job_id`` than the one recorded is a
  ``job-mismatch`` problem. An unknown order, or another lab's, is ``unknown-job`` (404: never
  reveal another tenant's order).
- A problem result changes nothing and leaves no de-duplication row: the LIMS may resend it.
- ``occurred_at`` is recorded but never checked against the clock (a simulator running faster
  than real time stamps events in the future); only the signature timestamp is.
- Webhooks of a lab that arrive while its transaction runs share the next transaction (group
  commit, ``ils.services.group_commit``): the lab's log head is locked once for all of them.
  Their events are decided in arrival order, exactly as if the requests had come one by one.
- The audit row is one per transaction that recorded an event (applied or late), on the lab's
  chain: each event id of its requests with its outcome. Duplicates and problems change nothing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from ils.bus import Bus
from ils.db import audit, events, lims_inbound, tenants
from ils.db import stations as station_db
from ils.db.database import Conn, Database
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.domain.lims_event import Effects, JobState, LimsEvent, Movement, apply, judge, parse_event
from ils.domain.order_status import OrderState, OrderStatus
from ils.domain.station import Station
from ils.errors import (
    Conflict,
    FieldIssue,
    IlsError,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from ils.lims.signature import DEFAULT_TOLERANCE_S, BadSignature, StaleSignature, verify
from ils.services import quality, webhook_secrets
from ils.services.group_commit import Committed, GroupCommit
from ils.services.instruments import EVENTS_INGESTED, Meter, NullMeter
from ils.services.orders import order_summary
from ils.services.ports import Publisher, publish_committed
from ils.services.stations import Stations
from ils.services.webhook_rejections import WebhookRejections
from ils.services.webhook_secrets import verification_keys
from ils.settings import Settings

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_BODY_BYTES = 1024 * 1024
STATIONS = frozenset(s.value for s in Station)
#: Refusals of a whole request before any event is read; each is audited (webhook_rejections).
REFUSALS = (BadSignature, StaleSignature, PayloadTooLarge, MalformedRequest, ValidationFailed)


class UnknownJob(NotFound):
    code = "unknown-job"
    title = "No order of this lab matches the event"


class JobMismatch(Conflict):
    code = "job-mismatch"
    title = "The order is linked to another LIMS job"


@dataclass
class Batch:
    """What one webhook request changes, gathered in memory then written in bulk."""

    lab_id: str
    now: datetime
    orders: dict[str, dict[str, Any]]
    positions: dict[str, JobState] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)
    new_events: list[NewEvent] = field(default_factory=list)
    breakages: list[dict[str, Any]] = field(default_factory=list)
    inspections: list[dict[str, Any]] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    stored: list[StoredEvent] = field(default_factory=list)

    def position(self, order_id: str) -> JobState:
        if order_id not in self.positions:
            row = self.orders[order_id]
            held = OrderStatus(row["held_from"]) if row["held_from"] else None
            order = OrderState(OrderStatus(row["status"]), held)
            station = Station(row["station"]) if row["station"] in STATIONS else None
            self.positions[order_id] = JobState(order, station, row["lims_sequence"])
        return self.positions[order_id]


def read_body(body: bytes) -> list[LimsEvent] | LimsEvent:
    """A single event, or the events of ``{"events": [...]}``; 422 naming every bad field."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("the body is not JSON") from None
    if not isinstance(raw, dict) or "events" not in raw:
        return parse_event(raw)
    items = raw["events"]
    issues = [FieldIssue(f"/{k}", "extra-forbidden", "unknown field") for k in raw if k != "events"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        issues.append(FieldIssue("/events", "batch-size", "1 to 500 events"))
        raise ValidationFailed(issues)
    parsed: list[LimsEvent] = []
    for i, item in enumerate(items):
        try:
            parsed.append(parse_event(item, f"/events/{i}"))
        except ValidationFailed as exc:
            issues += exc.issues
    if issues:
        raise ValidationFailed(issues)
    return parsed


@dataclass(frozen=True)
class EventResult:
    """One event's outcome: ``applied``, ``duplicate``, ``late``, or ``problem`` with its error."""

    id: str
    result: str
    error: IlsError | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "result": self.result}
        if self.result == "duplicate":
            out["duplicate"] = True
        if self.error is not None:
            out["problem"] = self.error.problem()
        return out


class LimsInbound:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        stations: Stations,
        meter: Meter | None = None,
        *,
        settings: Settings,
        bus: Bus,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.stations = stations
        self.meter: Meter = meter or NullMeter()
        self.settings = settings
        self.rejections = WebhookRejections(db, bus)
        #: Webhooks of a lab arriving while its transaction runs share the next one.
        self.groups: GroupCommit[tuple[LimsEvent, datetime], list[EventResult]] = GroupCommit(
            self._commit_group, max_items=2 * MAX_BATCH
        )

    async def receive(
        self, lab_id: str, body: bytes, signature: str | None, now: datetime
    ) -> dict[str, Any]:
        """Verify and apply a webhook body; the response body (a problem raises).

        A refusal before any event is read (signature, size, body) is audited for the lab.
        """
        async with self.db.connection() as conn:
            tenant = await tenants.get(conn, lab_id)
        keys = verification_keys(self.settings, tenant)
        try:
            verify(signature, body, keys, int(now.timestamp()), DEFAULT_TOLERANCE_S)
            parsed = read_body(body)
        except REFUSALS as exc:
            if tenant is not None and tenant.kind == "lab":
                await self.rejections.record(lab_id, exc, now, lab_known=True)
            raise
        batch = [parsed] if isinstance(parsed, LimsEvent) else parsed
        results = await self.groups.submit(lab_id, [(e, now) for e in batch])
        if isinstance(parsed, LimsEvent):
            (outcome,) = results
            if outcome.error is not None:
                raise outcome.error
            return outcome.body()
        return {"results": [r.body() for r in results]}

    async def refuse(self, lab_id: str, error: IlsError, now: datetime) -> NoReturn:
        """Refuse a webhook before reading it (the route's size limit), auditing the refusal."""
        await self.rejections.record(lab_id, error, now)
        raise error

    async def ingest(
        self, lab_id: str, batch: Sequence[LimsEvent], now: datetime
    ) -> list[EventResult]:
        """Apply already-verified events in one transaction; one result per event, in order."""
        async with self.db.connection() as conn:
            done, work = await self._commit(conn, lab_id, batch, now)
        await self._after_commit(work, now)
        return done

    async def _commit_group(
        self, lab_id: str, parts: list[Sequence[tuple[LimsEvent, datetime]]]
    ) -> Committed[list[EventResult]]:
        """Requests of one lab that waited together: one transaction, results split back."""
        events = [event for part in parts for event, _ in part]
        now = max(at for part in parts for _, at in part)
        async with self.db.connection() as conn:
            done, work = await self._commit(conn, lab_id, events, now)
        results, k = [], 0
        for part in parts:
            results.append(done[k : k + len(part)])
            k += len(part)
        return results, self._after_commit(work, now)

    async def _after_commit(self, work: Batch, now: datetime) -> None:
        """Publish (coalesced with other requests'), then hand the movements to the stations
        (fed in the background on Ray: snapshots and bottleneck observers are not awaited)."""
        await publish_committed(self.publisher, work.stored)
        await self.stations.committed(work.lab_id, work.movements, now, time.monotonic())

    async def _commit(
        self, conn: Conn, lab_id: str, batch: Sequence[LimsEvent], now: datetime
    ) -> tuple[list[EventResult], Batch]:
        """The transaction of :meth:`ingest` on the caller's connection; the caller publishes."""
        async with conn.transaction():
            orders = await lims_inbound.lock_lab_orders(conn, lab_id, [e.order_id for e in batch])
            results: list[EventResult | None] = [None] * len(batch)
            fresh: list[LimsEvent] = []
            fresh_ids: set[str] = set()
            for i, event in enumerate(batch):
                error = _refusal(event, orders.get(event.order_id))
                if error is not None:
                    results[i] = EventResult(event.id, "problem", error)
                elif event.id in fresh_ids:
                    results[i] = EventResult(event.id, "duplicate")
                else:
                    fresh.append(event)
                    fresh_ids.add(event.id)
            work, outcomes = self._decide(lab_id, now, orders, fresh, set())
            claimed = await lims_inbound.claim_events(
                conn, lab_id, now, [_claim_row(e, outcomes[e.id]) for e in fresh]
            )
            if len(claimed) < len(fresh):  # some ids were seen by an earlier request
                replayed = {e.id for e in fresh} - claimed
                work, outcomes = self._decide(lab_id, now, orders, fresh, replayed)
                await lims_inbound.set_outcomes(conn, lab_id, sorted(outcomes.items()))
            for i, event in enumerate(batch):
                if results[i] is None:
                    results[i] = EventResult(event.id, outcomes.get(event.id, "duplicate"))
            done = [r for r in results if r is not None]
            work.stored = await self._write(conn, work, done)
        for outcome, n in Counter(r.result for r in done).items():  # one update per outcome
            self.meter.count(EVENTS_INGESTED, float(n), tags={"outcome": outcome})
        return done, work

    def _decide(
        self,
        lab_id: str,
        now: datetime,
        orders: dict[str, dict[str, Any]],
        fresh: list[LimsEvent],
        replayed: set[str],
    ) -> tuple[Batch, dict[str, str]]:
        """Apply the fresh events in memory (on copies of the order rows); their outcomes."""
        work = Batch(lab_id, now, {k: dict(v) for k, v in orders.items()})
        outcomes = {e.id: self._apply(work, e) for e in fresh if e.id not in replayed}
        return work, outcomes

    def _apply(self, work: Batch, event: LimsEvent) -> str:
        before = work.position(event.order_id)
        after, effects = apply(before, event)
        work.positions[event.order_id] = after
        work.movements.extend(effects.movements)
        row = work.orders[event.order_id]
        if effects.outcome == "applied":
            work.changed.add(event.order_id)
            row["lims_job_id"] = row["lims_job_id"] or event.job_id
            row["lims_sequence"] = after.sequence
            if effects.status_changed or effects.station_changed:
                self._move(work, row, before, after, effects, event)
        work.recorded.add(event.order_id)
        self._record(work, row, event, effects)
        return effects.outcome

    @staticmethod
    def _move(
        work: Batch,
        row: dict[str, Any],
        before: JobState,
        after: JobState,
        effects: Effects,
        event: LimsEvent,
    ) -> None:
        row["status"] = str(after.order.status)
        row["held_from"] = str(after.order.held_from) if after.order.held_from else None
        row["station"] = str(after.station) if after.station else None
        if after.order.status is OrderStatus.COMPLETED and row["delivered_at"] is None:
            row["delivered_at"] = event.occurred_at
        row["updated_at"] = work.now
        row["version"] += 1
        source = {"source": "lims", "lims_event_id": event.id, "lims_event_type": event.type}
        summary = order_summary(row)
        if effects.status_changed:
            data: dict[str, Any] = {"order": summary, "from": str(before.order.status)}
            data |= {"to": row["status"], "reason": event.data.get("reason"), "by": source}
            work.new_events.append(
                NewEvent("order.status_changed", Topic.ORDERS, work.now, data, row["id"])
            )
        if effects.station_changed:
            moved: dict[str, Any] = {"order": summary, "to_station": row["station"]}
            moved |= {"from_station": str(before.station) if before.station else None}
            moved |= {"by": source}
            work.new_events.append(
                NewEvent("order.station_changed", Topic.ORDERS, work.now, moved, row["id"])
            )

    @staticmethod
    def _record(work: Batch, row: dict[str, Any], event: LimsEvent, effects: Effects) -> None:
        base = {"id": str(uuid.uuid4()), "order_id": row["id"], "job_id": event.job_id}
        base |= {"event_id": event.id, "occurred_at": event.occurred_at}
        if effects.breakage is not None:
            b = effects.breakage
            record = base | {"station": str(b.station), "reason_code": b.reason_code}
            record |= {"shift": b.shift, "restart_station": str(b.restart_station)}
            work.breakages.append(record)
            data = {k: v for k, v in record.items() if k != "occurred_at"}
            data["occurred_at"] = event.occurred_at.isoformat()
            work.new_events.append(
                NewEvent("breakage.recorded", Topic.ORDERS, work.now, data, row["id"])
            )
        if effects.inspection is not None:
            verdict = _verdict(row, effects.inspection.measured)
            record = base | {"measured": effects.inspection.measured}
            record |= {"lims_pass": effects.inspection.lims_pass, "verdict": verdict}
            record["ils_pass"] = verdict["pass"] if verdict else None
            work.inspections.append(record)
            data = {k: v for k, v in record.items() if k not in ("occurred_at", "measured")}
            data["occurred_at"] = event.occurred_at.isoformat()
            work.new_events.append(
                NewEvent("inspection.recorded", Topic.ORDERS, work.now, data, row["id"])
            )

    async def _write(
        self, conn: Conn, work: Batch, results: list[EventResult]
    ) -> list[StoredEvent]:
        recorded = any(r.result in ("applied", "late") for r in results)
        await lims_inbound.update_positions(conn, [work.orders[o] for o in sorted(work.changed)])
        await lims_inbound.insert_breakages(conn, work.lab_id, work.breakages)
        await lims_inbound.insert_inspections(conn, work.lab_id, work.inspections)
        # An inspection failing ILS's own Z80.1 verdict: a QA failure, the job sent back (never on).
        work.new_events += await quality.record_lims_inspections(
            conn, work.lab_id, work.inspections, work.now
        )
        await station_db.insert_movements(conn, work.lab_id, work.movements)
        # The tenants' heads are locked last: they serialise every writer of the lab's log.
        practices = {work.orders[o]["practice_id"] for o in work.changed | work.recorded}
        heads = await tenants.lock_heads(conn, [work.lab_id, *practices])
        stored = await _append_both(conn, work)
        if recorded:  # only a request that recorded something is audited
            summary = {"events": [[r.id, r.result] for r in results]}
            lab = heads[work.lab_id]
            await audit.append(conn, lab, work.now, None, "lims.webhook", None, summary)
        return stored


async def _append_both(conn: Conn, work: Batch) -> list[StoredEvent]:
    """The lab's log gets every event; each practice the events of its own orders."""
    by_practice: dict[str, list[NewEvent]] = {}
    for event in work.new_events:
        assert event.order_id is not None
        practice = work.orders[event.order_id]["practice_id"]
        by_practice.setdefault(practice, []).append(event)
    batches = {work.lab_id: work.new_events, **dict(sorted(by_practice.items()))}
    return await events.append_many(conn, batches)  # two statements for all the tenants


def _refusal(event: LimsEvent, row: dict[str, Any] | None) -> IlsError | None:
    if row is None:
        return UnknownJob(f"no order {event.order_id} of this lab")
    if row["lims_job_id"] is not None and row["lims_job_id"] != event.job_id:
        return JobMismatch(f"order {event.order_id} is LIMS job {row['lims_job_id']}")
    return None


def _claim_row(event: LimsEvent, outcome: str) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "event_id": event.id,
        "type": event.type,
        "job_id": event.job_id,
        "order_id": event.order_id,
        "sequence": event.sequence,
        "occurred_at": event.occurred_at,
        "data": event.data,
    }


def _verdict(row: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return judge(row["rx"], str(row["lens"].get("type")), measured).as_dict()
    except (ValidationFailed, KeyError, TypeError, ValueError):
        return None


async def rotate_webhook_secret(
    db: Database, settings: Settings, lab_id: str, now: datetime
) -> str:
    """A new webhook secret for the lab (stored sealed); the previous one stays valid until the
    next rotation."""
    return await webhook_secrets.rotate(db, settings, lab_id, now)
