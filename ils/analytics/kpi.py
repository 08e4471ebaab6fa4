"""Production and quality KPIs over plain in-memory job records.

Every KPI returns a ``KpiValue``: the figure AND its basis (numerator, denominator, n, period), so
the API can state the data behind each number. Empty data gives ``value=None`` with ``n=0``;
nothing here divides by zero or returns NaN.

Cohorts (stated once, used everywhere): quality and flow KPIs (first-pass yield, breakage, remake
and non-adapt rates, cycle time, jobs per labour hour) are computed over the jobs SHIPPED in the
period, whose outcome is known; on-time delivery over the jobs DUE in the period; throughput over
station passes FINISHED in the period; WIP at one instant. Periods are half-open ``[start, end)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np

UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period must not end before it starts")

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class Breakage:
    """A lens broken at ``station`` and restarted at ``restart_station`` (same station if None)."""

    station: str
    reason: str
    restart_station: str | None = None


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one order's job. ``first_pass`` is None until the job is inspected."""

    order_id: str
    lens_type: str
    design: str | None
    material: str
    created_at: datetime
    due_date: date | None = None
    shipped_at: datetime | None = None
    first_pass: bool | None = None
    breakages: tuple[Breakage, ...] = ()
    remake_category: str | None = None
    non_adapt: bool = False
    labour_minutes: Mapping[str, float] = field(default_factory=dict)
    cancelled_at: datetime | None = None
    product: str | None = None
    price: Decimal | None = None
    remake_of: str | None = None
    lens_count: int = 2


@dataclass(frozen=True)
class StationPass:
    """One job finishing one station (the basis of throughput)."""

    order_id: str
    station: str
    finished_at: datetime


@dataclass(frozen=True)
class KpiValue:
    value: float | None
    n: int
    numerator: float | None = None
    denominator: float | None = None
    period: Period | None = None
    unit: str = "ratio"

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "n": self.n,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "period": None if self.period is None else self.period.as_dict(),
            "unit": self.unit,
        }


def ratio(
    numerator: float, denominator: float, n: int, period: Period | None, unit: str = "ratio"
) -> KpiValue:
    """A KPI that is a quotient; None (never NaN) when the denominator is zero."""
    value = numerator / denominator if denominator > 0 else None
    return KpiValue(value, n, numerator, denominator, period, unit)


def shipped_in(jobs: Iterable[JobOutcome], period: Period) -> list[JobOutcome]:
    return [j for j in jobs if j.cancelled_at is None and period.contains(j.shipped_at)]


def first_pass_yield(jobs: Iterable[JobOutcome], period: Period) -> KpiValue:
    """Share of inspected jobs shipped in the period that passed final inspection first time."""
    inspected = [j for j in shipped_in(jobs, period) if j.first_pass is not None]
    passed = sum(1 for j in inspected if j.first_pass)
    return ratio(passed, len(inspected), len(inspected), period)


def _breakage_rate_by(
    jobs: Iterable[JobOutcome], period: Period, key: Callable[[Breakage], str]
) -> dict[str, KpiValue]:
    cohort = shipped_in(jobs, period)
    counts: dict[str, int] = defaultdict(int)
    for job in cohort:
        for breakage in job.breakages:
            counts[key(breakage)] += 1
    unit = "breakages_per_job"
    return {k: ratio(c, len(cohort), len(cohort), period, unit) for k, c in sorted(counts.items())}


def breakage_rate(jobs: Iterable[JobOutcome], period: Period) -> KpiValue:
    """Breakages per job shipped in the period (a job may break more than once)."""
    cohort = shipped_in(jobs, period)
    total = sum(len(j.breakages) for j in cohort)
    return ratio(total, len(cohort), len(cohort), period, "breakages_per_job")


def breakage_rate_by_station(jobs: Iterable[JobOutcome], period: Period) -> dict[str, KpiValue]:
    return _breakage_rate_by(jobs, period, lambda b: b.station)


def breakage_rate_by_reason(jobs: Iterable[JobOutcome], period: Period) -> dict[str, KpiValue]:
    return _breakage_rate_by(jobs, period, lambda b: b.reason)


def remake_rate_by_category(jobs: Iterable[JobOutcome], period: Period) -> dict[str, KpiValue]:
    """Share of jobs shipped in the period that were remade, per remake category."""
    cohort = shipped_in(jobs, period)
    counts: dict[str, int] = defaultdict(int)
    for job in cohort:
        if job.remake_category is not None:
            counts[job.remake_category] += 1
    return {k: ratio(c, len(cohort), len(cohort), period) for k, c in sorted(counts.items())}


def remake_rate(jobs: Iterable[JobOutcome], period: Period) -> KpiValue:
    cohort = shipped_in(jobs, period)
    remade = sum(1 for j in cohort if j.remake_category is not None)
    return ratio(remade, len(cohort), len(cohort), period)


def non_adapt_rate_by_design(jobs: Iterable[JobOutcome], period: Period) -> dict[str, KpiValue]:
    """Share of each lens design's shipped jobs that came back as non-adapts."""
    groups: dict[str, list[JobOutcome]] = defaultdict(list)
    for job in shipped_in(jobs, period):
        groups[job.design or UNSPECIFIED].append(job)
    return {
        design: ratio(sum(1 for j in group if j.non_adapt), len(group), len(group), period)
        for design, group in sorted(groups.items())
    }


def on_time_rate(jobs: Iterable[JobOutcome], period: Period, as_of: datetime) -> KpiValue:
    """Share of jobs due in the period that shipped on or before their due date (UTC dates).

    A job not shipped by ``as_of`` counts as late once its due date has passed and is left out
    while it still can be on time. Cancelled jobs are left out.
    """
    on_time = judged = 0
    for job in jobs:
        if job.due_date is None or job.cancelled_at is not None:
            continue
        if not period.contains(datetime.combine(job.due_date, time.min, period.start.tzinfo)):
            continue
        shipped = job.shipped_at if job.shipped_at is not None and job.shipped_at <= as_of else None
        if shipped is None and job.due_date >= _utc_date(as_of):
            continue
        judged += 1
        on_time += shipped is not None and _utc_date(shipped) <= job.due_date
    return ratio(on_time, judged, judged, period)


def _utc_date(moment: datetime) -> date:
    return (moment.astimezone(UTC) if moment.tzinfo is not None else moment).date()


def cycle_time_percentiles(
    jobs: Iterable[JobOutcome], period: Period, quantiles: Sequence[int] = (50, 90)
) -> dict[str, dict[str, KpiValue]]:
    """Order-to-ship hours per lens type: ``{"progressive": {"p50": KpiValue, "p90": ...}}``.

    Percentiles are numpy's default (linear interpolation between order statistics).
    """
    groups: dict[str, list[float]] = defaultdict(list)
    for job in shipped_in(jobs, period):
        if job.shipped_at is not None:
            elapsed = (job.shipped_at - job.created_at).total_seconds() / 3600.0
            groups[job.lens_type].append(elapsed)
    out: dict[str, dict[str, KpiValue]] = {}
    for lens_type, hours in sorted(groups.items()):
        values = np.percentile(hours, list(quantiles))
        out[lens_type] = {
            f"p{q}": KpiValue(float(v), len(hours), period=period, unit="hours")
            for q, v in zip(quantiles, values, strict=True)
        }
    return out


def wip_at(jobs: Iterable[JobOutcome], instant: datetime) -> KpiValue:
    """Jobs created and neither shipped nor cancelled at ``instant``."""

    def open_at(job: JobOutcome) -> bool:
        ended = [t for t in (job.shipped_at, job.cancelled_at) if t is not None]
        return job.created_at <= instant and all(t > instant for t in ended)

    count = sum(1 for j in jobs if open_at(j))
    return KpiValue(float(count), count, period=Period(instant, instant), unit="jobs")


def throughput_per_station(passes: Iterable[StationPass], period: Period) -> dict[str, KpiValue]:
    """Jobs finished per hour at each station over the period."""
    counts: dict[str, int] = defaultdict(int)
    for p in passes:
        if period.contains(p.finished_at):
            counts[p.station] += 1
    hours = period.hours
    return {
        station: ratio(c, hours, c, period, "jobs_per_hour")
        for station, c in sorted(counts.items())
    }


def jobs_per_labour_hour(jobs: Iterable[JobOutcome], period: Period) -> KpiValue:
    """Jobs shipped in the period per hour of labour booked on those jobs."""
    cohort = shipped_in(jobs, period)
    hours = sum(sum(j.labour_minutes.values()) for j in cohort) / 60.0
    return ratio(len(cohort), hours, len(cohort), period, "jobs_per_labour_hour")


def production_kpis(
    jobs: Sequence[JobOutcome], passes: Sequence[StationPass], period: Period, as_of: datetime
) -> dict[str, Any]:
    """Every KPI of the period in one mapping (the body of ``/api/metrics/production-kpis``)."""

    def dump(group: Mapping[str, KpiValue]) -> dict[str, Any]:
        return {k: v.as_dict() for k, v in group.items()}

    return {
        "period": period.as_dict(),
        "first_pass_yield": first_pass_yield(jobs, period).as_dict(),
        "breakage_rate": breakage_rate(jobs, period).as_dict(),
        "breakage_rate_by_station": dump(breakage_rate_by_station(jobs, period)),
        "breakage_rate_by_reason": dump(breakage_rate_by_reason(jobs, period)),
        "remake_rate": remake_rate(jobs, period).as_dict(),
        "remake_rate_by_category": dump(remake_rate_by_category(jobs, period)),
        "non_adapt_rate_by_design": dump(non_adapt_rate_by_design(jobs, period)),
        "on_time_rate": on_time_rate(jobs, period, as_of).as_dict(),
        "cycle_time_hours": {k: dump(v) for k, v in cycle_time_percentiles(jobs, period).items()},
        "wip": wip_at(jobs, as_of).as_dict(),
        "throughput_per_station": dump(throughput_per_station(passes, period)),
        "jobs_per_labour_hour": jobs_per_labour_hour(jobs, period).as_dict(),
    }
