"""Rolling-origin backtest: refit each candidate at several origins and forecast 1..H days ahead.

Origins are spaced up to two weeks apart and end so that the last test window closes on the last
day of history; every candidate is scored on the same windows. A candidate whose path at an origin
is refused by the blow-up guard is scored with the seasonal-naive path there (what production
would serve) and the blow-up is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ils.analytics.forecast.candidates import BASELINE, CANDIDATES
from ils.analytics.forecast.guard import clip_counts, is_absurd
from ils.analytics.forecast.history import DailySeries

LEVEL_WINDOW = 28
MAX_STEP = 14


@dataclass(frozen=True)
class Backtest:
    """Forecasts (origin x horizon) per model against the same actuals."""

    origins: tuple[int, ...]
    actuals: np.ndarray
    forecasts: dict[str, np.ndarray]
    levels: np.ndarray
    mase_scales: np.ndarray
    blowups: dict[str, int]

    @property
    def horizon(self) -> int:
        return int(self.actuals.shape[1])


def plan_origins(days: int, min_train: int, horizon: int, count: int) -> tuple[int, ...]:
    """Training lengths of up to ``count`` origins, oldest first; empty if none fits."""
    last = days - horizon
    available = last - min_train
    if available < 0 or count < 1:
        return ()
    step = min(MAX_STEP, available // (count - 1)) if count > 1 else 1
    if step == 0:
        step, count = 1, available + 1
    return tuple(sorted(last - k * step for k in range(count)))


def recent_level(values: np.ndarray) -> float:
    return float(np.mean(values[-LEVEL_WINDOW:]))


def naive_scale(values: np.ndarray) -> float:
    """In-sample mean absolute error of the weekly seasonal naive forecast (the MASE scale)."""
    if len(values) <= 7:
        return float(np.mean(np.abs(np.diff(values)))) if len(values) > 1 else 0.0
    return float(np.mean(np.abs(values[7:] - values[:-7])))


def run_backtest(
    series: DailySeries,
    names: Sequence[str],
    horizon: int,
    country: str,
    origins: Sequence[int],
) -> Backtest:
    y = series.values
    actuals = np.array([y[o : o + horizon] for o in origins])
    forecasts = {name: np.empty((len(origins), horizon)) for name in names}
    blowups = dict.fromkeys(names, 0)
    for row, origin in enumerate(origins):
        train = series.head(origin)
        baseline = CANDIDATES[BASELINE].predict(train, horizon, country)
        for name in names:
            path = _guarded_predict(name, train, horizon, country)
            if path is None:
                blowups[name] += 1
                path = baseline
            forecasts[name][row] = clip_counts(path)
    return Backtest(
        origins=tuple(origins),
        actuals=actuals,
        forecasts=forecasts,
        levels=np.array([recent_level(y[:o]) for o in origins]),
        mase_scales=np.array([naive_scale(y[:o]) for o in origins]),
        blowups=blowups,
    )


def _guarded_predict(
    name: str, train: DailySeries, horizon: int, country: str
) -> np.ndarray | None:
    try:
        path = CANDIDATES[name].predict(train, horizon, country)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return None
    return None if is_absurd(path, train.values) else path
