"""Daily order volume of a prescription-lens lab, for the simulator and for forecast benchmarks.

The series is built from the parts a real lab's intake shows:

- a slow trend (a lab grows or shrinks a few percent a year),
- a weekday profile: practices send most jobs Monday to Friday, few on Saturday, almost none on
  Sunday,
- yearly seasonality: a January peak (new vision-insurance benefits), a late-summer back-to-school
  peak and a December dip,
- public holidays of a configurable country (the ``holidays`` package): practices are closed, so
  intake collapses, and the next working days catch up (the after-effect),
- noise: a slowly wandering level (AR(1) on the log scale) and negative-binomial counts, which are
  over-dispersed like real intake.

Everything random comes from the ``rng`` argument, so a seed gives the same history every time.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import holidays
import numpy as np

#: Relative intake Monday..Sunday (mean 1 over the week).
WEEKDAY_PROFILE: tuple[float, ...] = (1.28, 1.2, 1.16, 1.14, 1.08, 0.7, 0.24)
HOLIDAY_FACTOR = 0.18
#: Catch-up on the first and second working days after a holiday.
AFTER_HOLIDAY_FACTORS: tuple[float, ...] = (1.35, 1.12)
NB_DISPERSION = 60.0


def daily_order_history(
    start: date, days: int, country: str, base_per_day: float, rng: np.random.Generator
) -> list[tuple[date, int]]:
    """``days`` consecutive days of order counts from ``start``; deterministic for a seeded rng."""
    if days <= 0:
        return []
    dates = [start + timedelta(days=i) for i in range(days)]
    mean = base_per_day * _trend(days, rng) * _yearly(dates) * _weekday(dates)
    mean *= _holiday_effects(dates, country) * _level_wander(days, rng)
    counts = _negative_binomial(mean, rng)
    return list(zip(dates, (int(c) for c in counts), strict=True))


def _trend(days: int, rng: np.random.Generator) -> np.ndarray:
    growth_per_year = rng.uniform(-0.02, 0.08)
    return 1.0 + growth_per_year * np.arange(days) / 365.25


def _yearly(dates: list[date]) -> np.ndarray:
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    angle = 2.0 * math.pi * doy / 365.25
    january = 0.07 * np.cos(angle - 2.0 * math.pi * 20 / 365.25)
    back_to_school = 0.05 * np.cos(2.0 * (angle - 2.0 * math.pi * 235 / 365.25))
    return 1.0 + january + back_to_school


def _weekday(dates: list[date]) -> np.ndarray:
    return np.array([WEEKDAY_PROFILE[d.weekday()] for d in dates])


def _holiday_effects(dates: list[date], country: str) -> np.ndarray:
    calendar = holidays.country_holidays(country, years=range(dates[0].year, dates[-1].year + 1))
    factors = np.ones(len(dates))
    pending: list[float] = []
    for i, day in enumerate(dates):
        if day in calendar:
            factors[i] = HOLIDAY_FACTOR
            pending = list(AFTER_HOLIDAY_FACTORS)
        elif pending and day.weekday() < 5:
            factors[i] = pending.pop(0)
    return factors


def _level_wander(days: int, rng: np.random.Generator) -> np.ndarray:
    phi, sigma = 0.97, 0.012
    shocks = rng.normal(0.0, sigma, days)
    log_level = np.empty(days)
    state = 0.0
    for i in range(days):
        state = phi * state + shocks[i]
        log_level[i] = state
    return np.exp(log_level)


def _negative_binomial(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    safe = np.maximum(mean, 1e-9)
    p = NB_DISPERSION / (NB_DISPERSION + safe)
    return rng.negative_binomial(NB_DISPERSION, p)
