"""Incremental daily / ISO-weekly / monthly counters per tenant, fed one domain event at a time.

``apply(state, event)`` returns the deltas one event adds: rows ``(tenant_id, metric, granularity,
bucket_start, amount)`` that a database upsert can add (``ON CONFLICT ... DO UPDATE SET amount =
amount + EXCLUDED.amount``). ``recompute(events)`` rebuilds the same totals from scratch.

Design: an event's deltas depend on that event alone (never on earlier events), so applying a
stream in any order folds to the same totals as ``recompute``; the state only remembers event ids
(a replayed event adds nothing) and keeps running totals for readers. Amounts are Decimal (cycle
minutes kept to 3 places), so sums are exact and independent of order.

Events are dicts with ``type``, ``tenant_id``, ``occurred_at`` (aware datetime or RFC 3339
string) and optionally ``id``. Metrics per type:

- ``order.status_changed`` with ``to`` = ``completed`` / ``cancelled`` -> orders_completed /
  orders_cancelled; with ``to`` = ``shipped`` -> orders_shipped and, when the order's
  ``created_at`` is known (on the event or its ``order`` summary), cycle_time_sum_min (order to
  ship, minutes) and cycle_time_count, bucketed by the ship time. Every path that ships an order
  (a transition, a LIMS ``job.shipped``) emits this one event, so a shipment counts once; other
  targets count nothing
- ``order.created`` -> orders_created, and remakes too when the order is a remake (its ``order``
  summary names the order it remakes in ``remake_of``)
- ``breakage.recorded`` -> breakages
- ``inspection.recorded`` -> inspections, and inspections_failed when the verdict is a fail: ILS's
  ``pass`` (API inspections), else ILS's ``ils_pass`` on a LIMS inspection, else ``lims_pass``
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

GRANULARITIES = ("day", "week", "month")
METRICS = (
    "orders_created",
    "orders_shipped",
    "orders_completed",
    "orders_cancelled",
    "breakages",
    "inspections",
    "inspections_failed",
    "remakes",
    "cycle_time_sum_min",
    "cycle_time_count",
)
ONE = Decimal(1)
MINUTE_PLACES = Decimal("0.001")

BucketKey = tuple[str, str, str, date]  # tenant_id, metric, granularity, bucket_start
Event = Mapping[str, Any]


@dataclass(frozen=True)
class Delta:
    tenant_id: str
    metric: str
    granularity: str
    bucket_start: date
    amount: Decimal

    @property
    def key(self) -> BucketKey:
        return (self.tenant_id, self.metric, self.granularity, self.bucket_start)


@dataclass
class RollupState:
    """Ids of the events already applied and the running totals per bucket."""

    seen: set[tuple[str, str]] = field(default_factory=set)
    totals: dict[BucketKey, Decimal] = field(default_factory=dict)


def as_utc(moment: datetime | str) -> datetime:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        raise ValueError("event times must carry a time zone")
    return value.astimezone(UTC)


def bucket_start(moment: datetime, granularity: str) -> date:
    """First day of the UTC day, ISO week (Monday) or month that contains ``moment``."""
    day = as_utc(moment).date()
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown granularity {granularity!r}")


def _cycle_minutes(event: Event, shipped: datetime) -> Decimal | None:
    summary = event.get("order")
    created = event.get("created_at")
    if created is None and isinstance(summary, Mapping):
        created = summary.get("created_at")
    if created is None:
        return None
    seconds = Decimal(str((shipped - as_utc(created)).total_seconds()))
    return (seconds / 60).quantize(MINUTE_PLACES)


def inspection_passed(event: Event) -> bool | None:
    """The verdict an inspection event carries: ILS's own first, the LIMS's when ILS had none."""
    for key in ("pass", "ils_pass", "lims_pass"):
        if event.get(key) is not None:
            return bool(event[key])
    return None


def event_metrics(event: Event) -> list[tuple[str, Decimal]]:
    """The (metric, amount) pairs one event contributes, whatever came before it."""
    kind = event.get("type")
    if kind == "order.created":
        summary = event.get("order")
        remake = isinstance(summary, Mapping) and summary.get("remake_of") is not None
        return [("orders_created", ONE), *([("remakes", ONE)] if remake else [])]
    if kind == "order.status_changed" and event.get("to") == "shipped":
        minutes = _cycle_minutes(event, as_utc(event["occurred_at"]))
        extra = (
            [] if minutes is None else [("cycle_time_sum_min", minutes), ("cycle_time_count", ONE)]
        )
        return [("orders_shipped", ONE), *extra]
    if kind == "order.status_changed":
        target = {"completed": "orders_completed", "cancelled": "orders_cancelled"}
        metric = target.get(str(event.get("to")))
        return [] if metric is None else [(metric, ONE)]
    if kind == "breakage.recorded":
        return [("breakages", ONE)]
    if kind == "inspection.recorded":
        failed = [("inspections_failed", ONE)] if inspection_passed(event) is False else []
        return [("inspections", ONE), *failed]
    return []


def event_deltas(event: Event) -> list[Delta]:
    """Every bucket row one event adds to, at every granularity."""
    tenant = event.get("tenant_id")
    if not tenant:
        raise ValueError("an event needs a tenant_id")
    moment = as_utc(event["occurred_at"])
    return [
        Delta(str(tenant), metric, granularity, bucket_start(moment, granularity), amount)
        for metric, amount in event_metrics(event)
        for granularity in GRANULARITIES
    ]


def apply(state: RollupState, event: Event) -> list[Delta]:
    """Apply one event to ``state`` and return the deltas to upsert ([] for a replayed event)."""
    event_id = event.get("id")
    if event_id is not None:
        key = (str(event.get("tenant_id")), str(event_id))
        if key in state.seen:
            return []
        state.seen.add(key)
    deltas = event_deltas(event)
    fold(deltas, state.totals)
    return deltas


def fold(
    deltas: Iterable[Delta], totals: dict[BucketKey, Decimal] | None = None
) -> dict[BucketKey, Decimal]:
    """Add deltas into totals (a new dict when none is given), as the database upsert does."""
    out = {} if totals is None else totals
    for delta in deltas:
        out[delta.key] = out.get(delta.key, Decimal(0)) + delta.amount
    return out


def recompute(events: Iterable[Event]) -> dict[BucketKey, Decimal]:
    """Totals rebuilt from the whole event log (the reference the incremental path must equal)."""
    state = RollupState()
    for event in events:
        apply(state, event)
    return state.totals


def series(
    totals: Mapping[BucketKey, Decimal],
    tenant_id: str,
    metric: str,
    granularity: str,
    start: date,
    end: date,
) -> list[tuple[date, Decimal]]:
    """Buckets from ``start`` to ``end`` (inclusive), zero-filled, for a time-series chart."""
    first = bucket_start(datetime.combine(start, datetime.min.time(), UTC), granularity)
    out: list[tuple[date, Decimal]] = []
    bucket = first
    while bucket <= end:
        out.append((bucket, totals.get((tenant_id, metric, granularity, bucket), Decimal(0))))
        bucket = _next_bucket(bucket, granularity)
    return out


def _next_bucket(bucket: date, granularity: str) -> date:
    if granularity == "day":
        return bucket + timedelta(days=1)
    if granularity == "week":
        return bucket + timedelta(days=7)
    return (bucket.replace(day=28) + timedelta(days=4)).replace(day=1)
