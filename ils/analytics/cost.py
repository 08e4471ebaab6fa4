"""Cost, revenue and margin per order, in Decimal money (2 places, one currency).

Cost of an order =
  materials   lens blanks: ``lens_count`` x the product's cost per blank;
+ labour      sum over stations of booked minutes / 60 x the station's hourly rate;
+ breakage    per breakage, the labour of every station re-done (from the restart station through
              the station where the lens broke, in line order, among the stations the job booked)
              plus one replacement blank;
+ remake      the direct cost (materials + labour + breakage) of the remake orders linked to it
              (``remake_of``, followed to the first order of the chain), which are not reported
              as lines of their own; a remake whose original is not in the data is its own line;
+ overhead    the period's overhead pool, allocated in proportion to the labour hours of each line
              (its own, its breakages' and its remakes': absorption costing on direct labour),
              equal shares when no labour was booked; cents are split by largest remainder so the
              lines add up to the pool exactly.
Revenue is the order's price plus its remakes' prices; margin = revenue - cost.
Components are rounded half-up to cents; totals are sums of the rounded components.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from ils.analytics.kpi import Breakage, JobOutcome
from ils.domain.station import LINE, Station

CENT = Decimal("0.01")
ZERO = Decimal("0")
OVERHEAD_RULE = "overhead allocated by direct labour hours (equal shares without labour)"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CostBook:
    """Prices of the inputs: blank cost per product, hourly labour rate per station."""

    currency: str
    blank_cost: Mapping[str, Decimal]
    labour_rate_per_hour: Mapping[str, Decimal]
    overhead_pool: Decimal = ZERO


@dataclass(frozen=True)
class OrderCost:
    order_id: str
    currency: str
    materials: Decimal
    labour: Decimal
    breakage: Decimal
    remake: Decimal
    overhead: Decimal
    revenue: Decimal
    remakes: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return self.materials + self.labour + self.breakage + self.remake + self.overhead

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.total

    @property
    def margin_pct(self) -> Decimal | None:
        if self.revenue == 0:
            return None
        return (self.margin / self.revenue * 100).quantize(CENT, rounding=ROUND_HALF_UP)

    def as_dict(self) -> dict[str, Any]:
        def money(value: Decimal) -> dict[str, str]:
            return {"amount": str(value), "currency": self.currency}

        body: dict[str, Any] = {"order_id": self.order_id, "remakes": list(self.remakes)}
        for name in ("materials", "labour", "breakage", "remake", "overhead"):
            body[name] = money(getattr(self, name))
        body |= {"total": money(self.total), "revenue": money(self.revenue)}
        body |= {"margin": money(self.margin), "margin_pct": _pct(self.margin_pct)}
        return body


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class _Direct:
    materials: Decimal
    labour: Decimal
    breakage: Decimal
    labour_hours: Decimal

    @property
    def total(self) -> Decimal:
        return self.materials + self.labour + self.breakage


def _labour_cost(minutes: float, station: str, book: CostBook) -> Decimal:
    if station not in book.labour_rate_per_hour:
        raise ValueError(f"no labour rate for station {station!r}")
    return Decimal(str(minutes)) / 60 * book.labour_rate_per_hour[station]


def _blank(job: JobOutcome, book: CostBook) -> Decimal:
    if job.product is None or job.product not in book.blank_cost:
        raise ValueError(f"no blank cost for product {job.product!r} (order {job.order_id})")
    return book.blank_cost[job.product]


def redone_stations(breakage: Breakage, booked: Sequence[str]) -> list[str]:
    """Stations a broken lens goes through again, in line order, among those the job booked."""
    line = [s.value for s in LINE]
    for name in (breakage.station, breakage.restart_station or breakage.station):
        Station(name)  # raises ValueError for an unknown station
    start = line.index(breakage.restart_station or breakage.station)
    end = line.index(breakage.station)
    return [s for s in line[min(start, end) : max(start, end) + 1] if s in booked]


def _direct(job: JobOutcome, book: CostBook) -> _Direct:
    blank = _blank(job, book)
    minutes = {s: Decimal(str(m)) for s, m in job.labour_minutes.items()}
    labour = sum((_labour_cost(float(m), s, book) for s, m in minutes.items()), ZERO)
    broken = ZERO
    hours = sum(minutes.values(), ZERO) / 60
    for breakage in job.breakages:
        redone = redone_stations(breakage, list(job.labour_minutes))
        broken += blank + sum((_labour_cost(float(minutes[s]), s, book) for s in redone), ZERO)
        hours += sum((minutes[s] for s in redone), ZERO) / 60
    return _Direct(cents(blank * job.lens_count), cents(labour), cents(broken), hours)


def _root(job: JobOutcome, by_id: Mapping[str, JobOutcome]) -> str:
    seen = {job.order_id}
    while job.remake_of is not None and job.remake_of in by_id and job.remake_of not in seen:
        job = by_id[job.remake_of]
        seen.add(job.order_id)
    return job.order_id


def allocate(pool: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``pool`` into cents by ``weights`` (equal if all zero); the parts sum exactly."""
    if not weights:
        return []
    total = sum(weights, ZERO)
    shares = [Decimal(1)] * len(weights) if total == 0 else list(weights)
    base = sum(shares, ZERO)
    exact = [pool * w / base for w in shares]
    floored = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((cents(pool) - sum(floored, ZERO)) / CENT)
    order = sorted(range(len(exact)), key=lambda i: (exact[i] - floored[i], -i), reverse=True)
    for i in order[:left]:
        floored[i] += CENT
    return floored


def order_costs(jobs: Sequence[JobOutcome], book: CostBook) -> list[OrderCost]:
    """One cost line per order (remakes folded into their original), in input order."""
    by_id = {j.order_id: j for j in jobs}
    groups: dict[str, list[JobOutcome]] = defaultdict(list)
    for job in jobs:
        groups[_root(job, by_id)].append(job)
    roots = [j for j in jobs if _root(j, by_id) == j.order_id]
    direct = {j.order_id: _direct(j, book) for j in jobs}
    weights = [
        sum((direct[j.order_id].labour_hours for j in groups[r.order_id]), ZERO) for r in roots
    ]
    overheads = allocate(book.overhead_pool, weights)
    lines = []
    for root, overhead in zip(roots, overheads, strict=True):
        own = direct[root.order_id]
        remakes = [j for j in groups[root.order_id] if j.order_id != root.order_id]
        revenue = sum((cents(j.price or ZERO) for j in groups[root.order_id]), ZERO)
        lines.append(
            OrderCost(
                order_id=root.order_id,
                currency=book.currency,
                materials=own.materials,
                labour=own.labour,
                breakage=own.breakage,
                remake=sum((direct[j.order_id].total for j in remakes), ZERO),
                overhead=overhead,
                revenue=revenue,
                remakes=tuple(j.order_id for j in remakes),
            )
        )
    return lines


def cost_summary(jobs: Sequence[JobOutcome], book: CostBook) -> dict[str, Any]:
    """Totals and per-order lines (the body of ``/api/metrics/cost-analysis``)."""
    lines = order_costs(jobs, book)
    names = ("materials", "labour", "breakage", "remake", "overhead", "total", "revenue", "margin")
    totals = {n: sum((getattr(line, n) for line in lines), ZERO) for n in names}
    revenue = totals["revenue"]
    margin_pct = None if revenue == 0 else cents(totals["margin"] / revenue * 100)
    return {
        "currency": book.currency,
        "orders": len(lines),
        "overhead_rule": OVERHEAD_RULE,
        "totals": {n: {"amount": str(v), "currency": book.currency} for n, v in totals.items()},
        "margin_pct": _pct(margin_pct),
        "lines": [line.as_dict() for line in lines],
    }
