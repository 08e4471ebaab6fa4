"""The metrics of a period from the lab's daily sums (``ils.analytics.order_facts``).

Pure functions of the summed amounts of the period's days, the WIP count and the cost model; the
same cohorts as ``ils.analytics.kpi`` (quality and flow: orders shipped in the period; on-time:
orders due in it; throughput: station passes finished in it; WIP at one instant), so each figure
equals what ``kpi`` computes over the orders themselves, except cycle-time percentiles, which come
from the bucket histograms (nearest rank, within ``CYCLE_RESOLUTION``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ils.analytics.cost import CostBook, cents
from ils.analytics.kpi import KpiValue, Period, ratio
from ils.analytics.order_facts import (
    CYCLE_RATIO,
    CYCLE_RESOLUTION,
    SEPARATOR,
    percentile,
)

ZERO = Decimal(0)
ROLES = ("own", "remake")
CYCLE_RULE = (
    "nearest-rank percentile of order-to-ship minutes in log-spaced buckets "
    f"{CYCLE_RATIO:.4f}x wide; the figure is the bucket's geometric middle, within "
    f"{CYCLE_RESOLUTION:.1%} of the exact nearest-rank value"
)


@dataclass(frozen=True)
class PeriodSums:
    """Summed amounts of a period's days per (metric, key). ``due_open`` holds the due-day
    metrics of the days from ``as_of``'s date on (whose unshipped orders can still be on time)."""

    amounts: Mapping[tuple[str, str], Decimal]
    due_open: Mapping[tuple[str, str], Decimal]

    def get(self, metric: str, key: str = "") -> Decimal:
        return self.amounts.get((metric, key), ZERO)

    def by_key(self, metric: str) -> dict[str, Decimal]:
        return {k: v for (m, k), v in sorted(self.amounts.items()) if m == metric}


def _dump(group: Mapping[str, KpiValue]) -> dict[str, Any]:
    return {k: v.as_dict() for k, v in sorted(group.items())}


def _rates(s: PeriodSums, metric: str, period: Period, unit: str = "ratio") -> dict[str, Any]:
    shipped = int(s.get("shipped"))
    return _dump(
        {k: ratio(float(v), shipped, shipped, period, unit) for k, v in s.by_key(metric).items()}
    )


def cycle_hours(
    s: PeriodSums, period: Period, quantiles: tuple[int, ...] = (50, 90)
) -> dict[str, Any]:
    histograms: dict[str, dict[int, int]] = defaultdict(dict)
    for key, count in s.by_key("cycle").items():
        lens_type, _, bucket = key.rpartition(SEPARATOR)
        histograms[lens_type][int(bucket)] = int(count)
    out: dict[str, Any] = {}
    for lens_type, histogram in sorted(histograms.items()):
        n = sum(histogram.values())
        out[lens_type] = {}
        for q in quantiles:
            minutes = percentile(histogram, q)
            value = None if minutes is None else minutes / 60
            out[lens_type][f"p{q}"] = KpiValue(value, n, period=period, unit="hours").as_dict()
    return out


def on_time(s: PeriodSums, period: Period) -> KpiValue:
    """Due orders whose due date is before ``as_of``'s date are all judged; later ones only once
    shipped. On time: shipped on or before the due date."""
    judged = s.get("due") - s.due_open.get(("due", ""), ZERO)
    judged += s.due_open.get(("due_shipped", ""), ZERO)
    on = s.get("due_on_time")
    return ratio(float(on), float(judged), int(judged), period)


def production_kpis(s: PeriodSums, period: Period, as_of: datetime, wip: int) -> dict[str, Any]:
    """The body of ``/api/metrics/production-kpis`` (the same fields as ``kpi.production_kpis``)."""
    shipped = int(s.get("shipped"))
    inspected = int(s.get("inspected"))
    designs = s.by_key("shipped_by_design")
    non_adapt = s.by_key("non_adapt_by_design")
    labour_hours = sum((v for k, v in s.by_key("labour_min").items()), ZERO) / 60
    return {
        "period": period.as_dict(),
        "first_pass_yield": ratio(
            float(s.get("first_pass")), inspected, inspected, period
        ).as_dict(),
        "breakage_rate": ratio(
            float(s.get("breakages")), shipped, shipped, period, "breakages_per_job"
        ).as_dict(),
        "breakage_rate_by_station": _rates(s, "breakages_by_station", period, "breakages_per_job"),
        "breakage_rate_by_reason": _rates(s, "breakages_by_reason", period, "breakages_per_job"),
        "remake_rate": ratio(float(s.get("remade")), shipped, shipped, period).as_dict(),
        "remake_rate_by_category": _rates(s, "remade_by_category", period),
        "non_adapt_rate_by_design": _dump(
            {
                d: ratio(float(non_adapt.get(d, ZERO)), float(n), int(n), period)
                for d, n in designs.items()
            }
        ),
        "on_time_rate": on_time(s, period).as_dict(),
        "cycle_time_hours": cycle_hours(s, period),
        "cycle_time_rule": CYCLE_RULE,
        "wip": KpiValue(float(wip), wip, period=Period(as_of, as_of), unit="jobs").as_dict(),
        "throughput_per_station": _dump(
            {
                st: ratio(float(c), period.hours, int(c), period, "jobs_per_hour")
                for st, c in s.by_key("passes").items()
            }
        ),
        "jobs_per_labour_hour": ratio(
            shipped, float(labour_hours), shipped, period, "jobs_per_labour_hour"
        ).as_dict(),
    }


def _split(s: PeriodSums, metric: str) -> dict[str, dict[str, Decimal]]:
    """``{"own": {x: amount}, "remake": {...}}`` of a metric keyed ``<role>|<x>``."""
    out: dict[str, dict[str, Decimal]] = {role: {} for role in ROLES}
    for key, amount in s.by_key(metric).items():
        role, _, name = key.partition(SEPARATOR)
        out[role][name] = amount
    return out


def missing_in_book(s: PeriodSums, book: CostBook) -> dict[str, list[str]]:
    """Stations and products the period needs that the cost model does not price."""
    stations = {n for m in ("labour_min", "redo_min") for r in _split(s, m).values() for n in r}
    products = {n for m in ("blanks", "breakage_blanks") for r in _split(s, m).values() for n in r}
    return {
        "labour_rate_per_hour": sorted(stations - set(book.labour_rate_per_hour)),
        "blank_cost": sorted(products - set(book.blank_cost)),
    }


def _direct(s: PeriodSums, role: str, book: CostBook) -> dict[str, Decimal]:
    def labour(metric: str) -> Decimal:
        minutes = _split(s, metric)[role]
        return sum((book.labour_rate_per_hour[k] * m / 60 for k, m in minutes.items()), ZERO)

    def blanks(metric: str) -> Decimal:
        counts = _split(s, metric)[role]
        return sum((book.blank_cost[p] * n for p, n in counts.items()), ZERO)

    return {
        "materials": blanks("blanks"),
        "labour": labour("labour_min"),
        "breakage": blanks("breakage_blanks") + labour("redo_min"),
    }


def revenue_rows(
    s: PeriodSums, price: Mapping[tuple[str, str], Decimal | None]
) -> list[dict[str, Any]]:
    """Per (practice, product): orders shipped, how many priced, revenue (count x price)."""
    rows = []
    for key, count in s.by_key("shipped_by_price").items():
        practice, _, product = key.partition(SEPARATOR)
        unit = price.get((practice, product))
        n = int(count)
        rows.append(
            {
                "practice_id": practice,
                "product": product,
                "orders": n,
                "priced": 0 if unit is None else n,
                "revenue": ZERO if unit is None else unit * n,
            }
        )
    return rows


def cost_summary(
    s: PeriodSums, book: CostBook, price: Mapping[tuple[str, str], Decimal | None]
) -> dict[str, Any]:
    """The body of ``/api/metrics/cost-analysis`` for the orders shipped in the period.

    materials, labour and breakage of the orders that are not remakes; remake = the direct cost
    (materials + labour + breakage) of the remake orders shipped in the period; overhead = the
    period's pool; revenue = each order at its price. Each component is rounded once, to cents.
    """
    own, remade = _direct(s, "own", book), _direct(s, "remake", book)
    parts = {k: cents(v) for k, v in own.items()}
    parts["remake"] = cents(sum(remade.values(), ZERO))
    parts["overhead"] = cents(book.overhead_pool)
    parts["total"] = sum(parts.values(), ZERO)
    parts["revenue"] = cents(sum((r["revenue"] for r in revenue_rows(s, price)), ZERO))
    parts["margin"] = parts["revenue"] - parts["total"]
    orders = int(s.get("shipped"))
    hours = sum(_split(s, "labour_min")["own"].values(), ZERO) + sum(
        _split(s, "labour_min")["remake"].values(), ZERO
    )

    def money(value: Decimal) -> dict[str, str]:
        return {"amount": str(value), "currency": book.currency}

    per_order = {
        n: None if orders == 0 else money(cents(parts[n] / orders))
        for n in ("total", "revenue", "margin")
    }
    margin_pct = None if parts["revenue"] == 0 else cents(parts["margin"] / parts["revenue"] * 100)
    return {
        "currency": book.currency,
        "orders": orders,
        "remake_orders": int(s.get("shipped_remakes")),
        "totals": {n: money(v) for n, v in parts.items()},
        "per_order": per_order,
        "margin_pct": None if margin_pct is None else str(margin_pct),
        "labour_hours": str(cents(hours / 60)),
        "overhead_rule": "the period's overhead pool (overhead per day x days), charged whole",
    }
