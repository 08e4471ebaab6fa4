"""Seasonal patterns of a lab's demand: weekday and yearly profiles and holiday effects.

One log-linear model (statsmodels OLS with HAC standard errors, since daily residuals are
autocorrelated) holds a trend, weekday and month effects, one effect per public holiday and the
catch-up on the two working days after a holiday. Weekday and month effects are reported against
their own average (a factor of 1.15 is 15% above an average weekday); each effect carries a 95%
confidence interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import statsmodels.api as sm

from ils.analytics.forecast.calendar import holiday_flags, holiday_names, weekday_dummies
from ils.analytics.forecast.history import DailySeries, clean_history

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MIN_DAYS_WEEKDAY = 14
MIN_DAYS_YEARLY = 365


@dataclass(frozen=True)
class Effect:
    label: str
    factor: float
    lower_95: float
    upper_95: float
    observations: int


@dataclass(frozen=True)
class SeasonalPatterns:
    weekday: tuple[Effect, ...]
    yearly: tuple[Effect, ...]
    holidays: tuple[Effect, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Design:
    x: np.ndarray
    weekday_cols: slice
    month_cols: slice | None
    holiday_cols: dict[str, int]


def seasonal_patterns(history: Sequence[tuple[date, float]], *, country: str) -> SeasonalPatterns:
    series = clean_history(history)
    notes = list(series.notes)
    if len(series) < MIN_DAYS_WEEKDAY:
        notes.append(f"{len(series)} days are too few: patterns need {MIN_DAYS_WEEKDAY}")
        return SeasonalPatterns((), (), (), tuple(notes))
    design = _design(series, country)
    if design.month_cols is None:
        notes.append(f"a yearly profile needs {MIN_DAYS_YEARLY} days of history")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = sm.OLS(np.log1p(series.values), design.x).fit(
            cov_type="HAC", cov_kwds={"maxlags": 7}
        )
        weekday = _profile(result, design.weekday_cols, WEEKDAYS, _weekday_counts(series))
        yearly: tuple[Effect, ...] = ()
        if design.month_cols is not None:
            yearly = _profile(result, design.month_cols, MONTHS, _month_counts(series))
        holidays = _holiday_effects(result, design)
    return SeasonalPatterns(weekday, yearly, holidays, tuple(notes))


def _design(series: DailySeries, country: str) -> _Design:
    n = len(series)
    columns = [np.ones((n, 1)), np.arange(n)[:, None] / 365.25, weekday_dummies(series.start, n)]
    weekday_cols = slice(2, 8)
    month_cols = None
    if n >= MIN_DAYS_YEARLY:
        months = np.array([d.month for d in series.dates()])
        columns.append((months[:, None] == np.arange(2, 13)[None, :]).astype(float))
        month_cols = slice(8, 19)
    width = sum(c.shape[1] for c in columns)
    holiday_cols: dict[str, int] = {}
    names = holiday_names(country, series.start, n)
    flags = holiday_flags(country, series.start, n)
    working = flags[:, 0] > 0
    for name in sorted({h for h, w in zip(names, working, strict=True) if h and w}):
        hits = [h == name and w for h, w in zip(names, working, strict=True)]
        columns.append(np.array(hits, dtype=float)[:, None])
        holiday_cols[name] = width
        width += 1
    for label, column in (("day after a holiday", 1), ("second day after a holiday", 2)):
        if flags[:, column].any():
            columns.append(flags[:, column : column + 1])
            holiday_cols[label] = width
            width += 1
    return _Design(np.hstack(columns), weekday_cols, month_cols, holiday_cols)


def _profile(
    result: sm.regression.linear_model.RegressionResultsWrapper,
    cols: slice,
    labels: tuple[str, ...],
    counts: list[int],
) -> tuple[Effect, ...]:
    """Each level as a factor of the average level (the first is the regression's reference).

    Contrasts against the mean of the log effects give the intervals; the factors are then divided
    by their arithmetic mean so that they average 1 (a weekday profile you can multiply by).
    """
    k = len(result.params)
    levels = len(labels)
    effects = []
    for level in range(levels):
        contrast = np.zeros(k)
        contrast[cols] -= 1.0 / levels
        if level > 0:
            contrast[cols.start + level - 1] += 1.0
        effects.append(_effect(result, contrast, labels[level], counts[level]))
    mean = float(np.mean([e.factor for e in effects]))
    return tuple(
        Effect(e.label, e.factor / mean, e.lower_95 / mean, e.upper_95 / mean, e.observations)
        for e in effects
    )


def _holiday_effects(
    result: sm.regression.linear_model.RegressionResultsWrapper, design: _Design
) -> tuple[Effect, ...]:
    k = len(result.params)
    effects = []
    for label, column in design.holiday_cols.items():
        contrast = np.zeros(k)
        contrast[column] = 1.0
        effects.append(_effect(result, contrast, label, int(design.x[:, column].sum())))
    return tuple(effects)


def _effect(
    result: sm.regression.linear_model.RegressionResultsWrapper,
    contrast: np.ndarray,
    label: str,
    observations: int,
) -> Effect:
    estimate = float(contrast @ result.params)
    spread = float(np.sqrt(max(contrast @ result.cov_params() @ contrast, 0.0)))
    if not np.isfinite(spread):
        spread = 0.0
    low, high = estimate - 1.959964 * spread, estimate + 1.959964 * spread
    return Effect(
        label, float(np.exp(estimate)), float(np.exp(low)), float(np.exp(high)), observations
    )


def _weekday_counts(series: DailySeries) -> list[int]:
    weekday = (np.arange(len(series)) + series.start.weekday()) % 7
    return [int((weekday == d).sum()) for d in range(7)]


def _month_counts(series: DailySeries) -> list[int]:
    months = [(series.start + timedelta(days=i)).month for i in range(len(series))]
    return [months.count(m) for m in range(1, 13)]
