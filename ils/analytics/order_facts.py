"""What one order contributes to its lab's daily figures, and the change a new fact makes.

The metrics API reads per-lab per-day sums (``day_sums``), never the orders: every figure of
``/api/metrics/production-kpis``, ``cost-analysis`` and ``revenue`` is a function of those sums
and of the cost model. An order's :class:`OrderFacts` (what became of it, read from the lab's
records) give its :func:`contributions`; when the facts of an order change, the lab's sums move by
``contributions(new) - contributions(old)`` (:func:`change`). So the sums kept incrementally equal
:func:`fold` over the current facts of every order: a recomputation from the raw records.

The days a contribution lands on (UTC dates):
- ship day (orders shipped and not cancelled, the quality and flow cohort): ``shipped``,
  ``inspected`` / ``first_pass``, breakages (total, by station, by reason), remakes (total, by
  category), ``shipped_by_design`` / ``non_adapt_by_design``, cycle-time histogram by lens type,
  booked labour minutes by station, and the cost quantities (blanks, breakage blanks and redone
  labour minutes per product and station, split ``own`` / ``remake`` by whether the order is a
  remake), ``shipped_by_price`` (practice and product: what revenue multiplies by a price);
- due day (orders not cancelled): ``due``, ``due_shipped``, ``due_on_time``;
- creation and close days: ``created`` and ``closed`` (WIP at an instant is created - closed);
- the day of each ``done`` station pass: ``passes`` by station (throughput).

Cycle time percentiles cannot be summed: they come from per-day histograms of order-to-ship
minutes in log-spaced buckets ``CYCLE_RATIO`` wide (see :func:`cycle_bucket`, :func:`percentile`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ils.analytics.kpi import Breakage
from ils.domain.station import LINE

ONE = Decimal(1)
MINUTE_PLACES = Decimal("0.001")
#: Width of a cycle-time bucket: each is 2^(1/12) times the one before (about 5.9% wide), so the
#: bucket's geometric middle is within CYCLE_RESOLUTION of every time in it.
CYCLE_STEPS_PER_DOUBLING = 12
CYCLE_RATIO = 2 ** (1 / CYCLE_STEPS_PER_DOUBLING)
CYCLE_RESOLUTION = CYCLE_RATIO**0.5 - 1
SEPARATOR = "|"
EPOCH_DAY = date(1970, 1, 1)

Key = tuple[date, str, str]  # day, metric, key
Sums = dict[Key, Decimal]


@dataclass(frozen=True)
class OrderFacts:
    """What became of one order, as its lab's records say (times are aware, UTC or not)."""

    order_id: str
    practice_id: str
    created_at: datetime
    lens_type: str
    design: str
    material: str
    due_date: date | None = None
    remake_of: str | None = None
    shipped_at: datetime | None = None
    cancelled_at: datetime | None = None
    first_pass: bool | None = None
    breakages: tuple[Breakage, ...] = ()
    remake_category: str | None = None
    non_adapt: bool = False
    labour_minutes: tuple[tuple[str, Decimal], ...] = ()
    passes: tuple[tuple[str, date], ...] = field(default=())
    lens_count: int = 2

    @property
    def product(self) -> str:
        """The product key of the cost model and the price lists: ``<lens type>/<material>``."""
        return f"{self.lens_type}/{self.material}"

    @property
    def shipped(self) -> bool:
        return self.shipped_at is not None and self.cancelled_at is None


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def cycle_bucket(minutes: float) -> int:
    """The histogram bucket of an order-to-ship time: ``floor(log_ratio(minutes))``, 0 below 1."""
    if minutes < 1:
        return 0
    return max(0, math.floor(math.log2(minutes) * CYCLE_STEPS_PER_DOUBLING))


def bucket_middle(bucket: int) -> float:
    """The geometric middle of a bucket, in minutes."""
    return float(CYCLE_RATIO ** (bucket + 0.5))


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """Nearest-rank ``q``-th percentile (minutes) of a bucket histogram: the middle of the
    bucket holding the ``ceil(q/100 * n)``-th smallest time. None when empty."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(q / 100 * n))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_middle(bucket)
    raise AssertionError("unreachable: rank <= n")


def redone_minutes(facts: OrderFacts) -> dict[str, Decimal]:
    """Booked minutes re-done per station by the order's breakages: from the restart station
    through the station where the lens broke, in line order, among the stations booked."""
    line = [s.value for s in LINE]
    booked = dict(facts.labour_minutes)
    out: dict[str, Decimal] = {}
    for b in facts.breakages:
        restart = b.restart_station or b.station
        if b.station not in line or restart not in line:
            continue
        low, high = sorted((line.index(restart), line.index(b.station)))
        for station in line[low : high + 1]:
            if station in booked:
                out[station] = out.get(station, Decimal(0)) + booked[station]
    return out


def _shipped(facts: OrderFacts, add: Any) -> None:
    assert facts.shipped_at is not None
    day = day_of(facts.shipped_at)
    add(day, "shipped", "")
    add(day, "shipped_by_design", facts.design)
    add(day, "shipped_by_price", f"{facts.practice_id}{SEPARATOR}{facts.product}")
    if facts.non_adapt:
        add(day, "non_adapt_by_design", facts.design)
    if facts.first_pass is not None:
        add(day, "inspected", "")
        if facts.first_pass:
            add(day, "first_pass", "")
    for b in facts.breakages:
        add(day, "breakages", "")
        add(day, "breakages_by_station", b.station)
        add(day, "breakages_by_reason", b.reason)
    if facts.remake_category is not None:
        add(day, "remade", "")
        add(day, "remade_by_category", facts.remake_category)
    minutes = (facts.shipped_at - facts.created_at).total_seconds() / 60
    add(day, "cycle", f"{facts.lens_type}{SEPARATOR}{cycle_bucket(minutes)}")
    role = "remake" if facts.remake_of is not None else "own"
    if facts.remake_of is not None:
        add(day, "shipped_remakes", "")
    add(day, "blanks", f"{role}{SEPARATOR}{facts.product}", Decimal(facts.lens_count))
    if facts.breakages:
        add(day, "breakage_blanks", f"{role}{SEPARATOR}{facts.product}", len(facts.breakages))
    for station, booked in facts.labour_minutes:
        add(day, "labour_min", f"{role}{SEPARATOR}{station}", booked)
    for station, redone in redone_minutes(facts).items():
        add(day, "redo_min", f"{role}{SEPARATOR}{station}", redone)


def contributions(facts: OrderFacts | None) -> Sums:
    """Every (day, metric, key) amount the order adds to its lab's sums ({} for None)."""
    out: Sums = {}
    if facts is None:
        return out

    def add(day: date, metric: str, key: str, amount: Decimal | int = ONE) -> None:
        out[(day, metric, key)] = out.get((day, metric, key), Decimal(0)) + Decimal(amount)

    add(day_of(facts.created_at), "created", "")
    ends = [t for t in (facts.shipped_at, facts.cancelled_at) if t is not None]
    if ends:
        add(day_of(min(ends)), "closed", "")
    if facts.shipped:
        _shipped(facts, add)
    if facts.due_date is not None and facts.cancelled_at is None:
        add(facts.due_date, "due", "")
        if facts.shipped_at is not None:
            add(facts.due_date, "due_shipped", "")
            if day_of(facts.shipped_at) <= facts.due_date:
                add(facts.due_date, "due_on_time", "")
    for station, day in facts.passes:
        add(day, "passes", station)
    return out


def change(old: OrderFacts | None, new: OrderFacts | None) -> Sums:
    """What the lab's sums move by when an order's facts go from ``old`` to ``new`` (zeros
    dropped)."""
    out = contributions(new)
    for key, amount in contributions(old).items():
        out[key] = out.get(key, Decimal(0)) - amount
    return {k: v for k, v in out.items() if v != 0}


def fold(changes: Iterable[Mapping[Key, Decimal]], sums: Sums | None = None) -> Sums:
    """Add changes into ``sums`` (a new dict when None), dropping keys that come to zero."""
    out: Sums = {} if sums is None else sums
    for delta in changes:
        for key, amount in delta.items():
            total = out.get(key, Decimal(0)) + amount
            if total == 0:
                out.pop(key, None)
            else:
                out[key] = total
    return out


def recompute(facts: Iterable[OrderFacts]) -> Sums:
    """The lab's sums from scratch: the reference the incremental path must equal."""
    return fold(contributions(f) for f in facts)


# --- the record form (jsonb) the database keeps per order, and back ---


def to_record(facts: OrderFacts) -> dict[str, Any]:
    def stamp(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(UTC).isoformat()

    return {
        "order_id": facts.order_id,
        "practice_id": facts.practice_id,
        "created_at": stamp(facts.created_at),
        "lens_type": facts.lens_type,
        "design": facts.design,
        "material": facts.material,
        "due_date": None if facts.due_date is None else facts.due_date.isoformat(),
        "remake_of": facts.remake_of,
        "shipped_at": stamp(facts.shipped_at),
        "cancelled_at": stamp(facts.cancelled_at),
        "first_pass": facts.first_pass,
        "breakages": [[b.station, b.reason, b.restart_station] for b in facts.breakages],
        "remake_category": facts.remake_category,
        "non_adapt": facts.non_adapt,
        "labour_minutes": [[s, str(m)] for s, m in facts.labour_minutes],
        "passes": [[s, d.isoformat()] for s, d in facts.passes],
        "lens_count": facts.lens_count,
    }


def from_record(r: Mapping[str, Any]) -> OrderFacts:
    def moment(v: str | None) -> datetime | None:
        return None if v is None else datetime.fromisoformat(v)

    created = moment(r["created_at"])
    assert created is not None
    return OrderFacts(
        order_id=r["order_id"],
        practice_id=r["practice_id"],
        created_at=created,
        lens_type=r["lens_type"],
        design=r["design"],
        material=r["material"],
        due_date=None if r["due_date"] is None else date.fromisoformat(r["due_date"]),
        remake_of=r["remake_of"],
        shipped_at=moment(r["shipped_at"]),
        cancelled_at=moment(r["cancelled_at"]),
        first_pass=r["first_pass"],
        breakages=tuple(Breakage(s, reason, rs) for s, reason, rs in r["breakages"]),
        remake_category=r["remake_category"],
        non_adapt=bool(r["non_adapt"]),
        labour_minutes=tuple((s, Decimal(m)) for s, m in r["labour_minutes"]),
        passes=tuple((s, date.fromisoformat(d)) for s, d in r["passes"]),
        lens_count=int(r["lens_count"]),
    )


def booked(
    movements: Iterable[tuple[str, str, Decimal]],
) -> tuple[tuple[tuple[str, Decimal], ...], tuple[tuple[str, date], ...]]:
    """Labour minutes per station and ``done`` passes from a job's station history rows
    ``(station, status, epoch seconds)``: a station with as many ``in_process`` as ``done`` rows
    books the sum of (done - in_process) times, whatever the pairing; one pass per ``done``."""
    sums: dict[str, Decimal] = {}
    balance: dict[str, int] = {}
    passes: list[tuple[str, date]] = []
    for station, status, epoch in movements:
        sign = 1 if status == "done" else -1
        sums[station] = sums.get(station, Decimal(0)) + sign * epoch
        balance[station] = balance.get(station, 0) + sign
        if status == "done":
            passes.append((station, EPOCH_DAY + timedelta(days=int(epoch // 86400))))
    labour = tuple(
        (s, (total / 60).quantize(MINUTE_PLACES))
        for s, total in sorted(sums.items())
        if balance[s] == 0
    )
    return labour, tuple(sorted(passes))
