"""The candidate models: each fits a daily series and returns its point forecast path.

- ``seasonal_naive``: the value of the same weekday last week (the baseline every model must beat).
- ``ets``: Holt-Winters exponential smoothing, damped additive trend, additive weekly season.
- ``regression``: log-linear regression on trend, weekday, yearly Fourier terms and holidays, with
  the recent residual level carried forward (see ``regression.py``).
- ``mstl``: MSTL decomposition (weekly and, with enough history, yearly seasons) of the log series;
  the seasonally adjusted part is forecast by damped Holt smoothing.

Statsmodels does the fitting; the wrappers only choose settings and silence its convergence
chatter (a candidate that fits badly is caught by the backtest, not by a warning).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.seasonal import MSTL

from ils.analytics.forecast.history import DailySeries
from ils.analytics.forecast.regression import regression_forecast

WEEK = 7
YEAR = 365

Predictor = Callable[[DailySeries, int, str], np.ndarray]


@dataclass(frozen=True)
class Candidate:
    name: str
    min_days: int
    predict: Predictor


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def seasonal_naive(series: DailySeries, horizon: int, country: str) -> np.ndarray:
    """Repeat the last observed week."""
    y = series.values
    if len(y) < WEEK:
        return np.full(horizon, float(np.mean(y)))
    last_week = y[-WEEK:]
    return np.array([last_week[h % WEEK] for h in range(horizon)], dtype=float)


def ets(series: DailySeries, horizon: int, country: str) -> np.ndarray:
    with _quiet():
        model = ExponentialSmoothing(
            series.values,
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=WEEK,
            initialization_method="heuristic",
        )
        fitted = model.fit(use_brute=False)
        return np.asarray(fitted.forecast(horizon), dtype=float)


def mstl_periods(days: int) -> tuple[int, ...]:
    """Seasonal periods MSTL can estimate: statsmodels drops any period >= half the length."""
    return tuple(p for p in (WEEK, YEAR) if p < days / 2)


#: LOESS evaluated every 7th point and interpolated (Cleveland et al.'s STL speed-up): a yearly
#: season on three years fits in tens of milliseconds instead of most of a second.
_STL_JUMPS = {"seasonal_jump": 7, "trend_jump": 7, "low_pass_jump": 7}


def mstl(series: DailySeries, horizon: int, country: str) -> np.ndarray:
    log_y = np.log1p(series.values)
    periods = mstl_periods(len(log_y))
    with _quiet():
        result = MSTL(log_y, periods=periods, stl_kwargs=_STL_JUMPS).fit()
        seasonal = np.asarray(result.seasonal).reshape(len(log_y), -1)
        adjusted = log_y - seasonal.sum(axis=1)
        holt = ExponentialSmoothing(
            adjusted, trend="add", damped_trend=True, initialization_method="heuristic"
        ).fit(use_brute=False)
        path = np.asarray(holt.forecast(horizon), dtype=float)
    for column, period in enumerate(periods):
        last_cycle = seasonal[-period:, column]
        path = path + np.array([last_cycle[h % period] for h in range(horizon)])
    return np.expm1(path)


def regression(series: DailySeries, horizon: int, country: str) -> np.ndarray:
    return regression_forecast(series, horizon, country)


CANDIDATES: dict[str, Candidate] = {
    c.name: c
    for c in (
        Candidate("seasonal_naive", WEEK, seasonal_naive),
        Candidate("ets", 4 * WEEK, ets),
        Candidate("regression", 8 * WEEK, regression),
        Candidate("mstl", 8 * WEEK, mstl),
    )
}
BASELINE = "seasonal_naive"
