"""Surge periods: runs of forecast days well above the recent baseline.

The baseline of a day is the mean of the same weekday over the last weeks of history, so an
ordinary Monday after a quiet weekend is not a surge; a quiet weekday's baseline is floored at a
tenth of the average day so that a near-zero Sunday cannot turn every order into a surge. A surge
reports its expected peak and the stations that will bind first: those whose labour need at the
peak is the largest share of their staffed capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ils.analytics.forecast.history import DailySeries
from ils.analytics.forecast.selection import ForecastDay

BASELINE_FLOOR_SHARE = 0.1


@dataclass(frozen=True)
class BindingStation:
    station: str
    labour_minutes_at_peak: float
    capacity_minutes: float | None
    utilisation_at_peak: float | None


@dataclass(frozen=True)
class SurgePeriod:
    start: date
    end: date
    days: int
    peak_date: date
    peak_orders: float
    peak_upper_80: float
    peak_baseline: float
    peak_excess_pct: float
    extra_orders: float
    binding_stations: tuple[BindingStation, ...]


def weekday_baseline(history: DailySeries, weeks: int) -> np.ndarray:
    """Mean orders of each weekday (Monday first) over the last ``weeks`` weeks of history."""
    tail = history.values[-weeks * 7 :]
    first_weekday = (history.start.weekday() + len(history) - len(tail)) % 7
    weekday = (np.arange(len(tail)) + first_weekday) % 7
    overall = float(tail.mean())
    floor = max(BASELINE_FLOOR_SHARE * overall, 1.0)
    means = [
        float(tail[weekday == d].mean()) if (weekday == d).any() else overall for d in range(7)
    ]
    return np.maximum(np.array(means), floor)


def surge_periods(
    forecast_days: Sequence[ForecastDay],
    history: DailySeries,
    *,
    threshold: float = 0.15,
    baseline_weeks: int = 8,
    minutes_per_order: Mapping[str, float] | None = None,
    capacity_minutes_per_day: Mapping[str, float] | None = None,
) -> list[SurgePeriod]:
    """Runs of days whose forecast exceeds the weekday baseline by more than ``threshold``."""
    baseline = weekday_baseline(history, baseline_weeks)
    base = np.array([baseline[d.date.weekday()] for d in forecast_days])
    orders = np.array([d.orders for d in forecast_days])
    above = orders > base * (1.0 + threshold)
    periods = []
    for first, last in _runs(above):
        window = range(first, last + 1)
        peak = max(window, key=lambda i: orders[i] / base[i])
        periods.append(
            SurgePeriod(
                start=forecast_days[first].date,
                end=forecast_days[last].date,
                days=last - first + 1,
                peak_date=forecast_days[peak].date,
                peak_orders=float(orders[peak]),
                peak_upper_80=float(forecast_days[peak].upper_80),
                peak_baseline=float(base[peak]),
                peak_excess_pct=float(100.0 * (orders[peak] / base[peak] - 1.0)),
                extra_orders=float(sum(orders[i] - base[i] for i in window)),
                binding_stations=_binding(
                    float(forecast_days[peak].upper_80), minutes_per_order or {},
                    capacity_minutes_per_day or {},
                ),
            )
        )  # fmt: skip
    return periods


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs


def _binding(
    peak_orders: float, minutes: Mapping[str, float], capacity: Mapping[str, float]
) -> tuple[BindingStation, ...]:
    """Stations by utilisation at the peak's upper 80% bound (by labour need without capacity)."""
    rows = []
    for station, per_order in minutes.items():
        need = peak_orders * per_order
        cap = capacity.get(station)
        utilisation = need / cap if cap else None
        rows.append(BindingStation(station, need, cap, utilisation))
    return tuple(
        sorted(rows, key=lambda r: (r.utilisation_at_peak or -1.0, r.labour_minutes_at_peak),
               reverse=True)
    )  # fmt: skip
