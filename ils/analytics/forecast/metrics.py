"""Forecast accuracy: MASE, WAPE, sMAPE, bias and interval coverage, overall and by horizon.

A figure that is not defined for the data (MASE of a series that never changes, WAPE of a window of
zeros) is ``None`` with the reason in the caller's notes, never NaN.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ils.analytics.forecast.backtest import Backtest
from ils.analytics.forecast.intervals import cross_bounds
from ils.analytics.forecast.selection import ForecastFit

BASELINES: tuple[str, ...] = ("seasonal_naive", "ets")


@dataclass(frozen=True)
class AccuracyMetrics:
    """Accuracy over a set of (origin, horizon) cells; ``horizon`` 0 means all horizons."""

    horizon: int
    mase: float | None
    wape: float | None
    smape: float | None
    bias: float | None
    bias_pct: float | None
    coverage_80: float | None
    coverage_95: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelMetrics:
    model: str
    origins: int
    overall: AccuracyMetrics
    by_horizon: tuple[AccuracyMetrics, ...]


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def accuracy(
    horizon: int,
    actual: np.ndarray,
    forecast: np.ndarray,
    scales: np.ndarray,
    band_80: tuple[np.ndarray, np.ndarray] | None = None,
    band_95: tuple[np.ndarray, np.ndarray] | None = None,
) -> AccuracyMetrics:
    """Metrics of cells ``actual``/``forecast``; ``scales`` is the MASE scale of each cell."""
    error = forecast - actual
    absolute = np.abs(error)
    defined = scales > 0
    mase = float(np.mean(absolute[defined] / scales[defined])) if defined.any() else None
    total = float(np.sum(np.abs(actual)))
    denominator = np.abs(actual) + np.abs(forecast)
    smape_cells = np.divide(
        2.0 * absolute, denominator, out=np.zeros_like(absolute), where=denominator > 0
    )
    return AccuracyMetrics(
        horizon=horizon,
        mase=mase,
        wape=_ratio(float(absolute.sum()), total),
        smape=float(np.mean(smape_cells)) if smape_cells.size else None,
        bias=float(np.mean(error)) if error.size else None,
        bias_pct=_ratio(float(error.sum()), total),
        coverage_80=_coverage(actual, band_80),
        coverage_95=_coverage(actual, band_95),
    )


def _coverage(actual: np.ndarray, band: tuple[np.ndarray, np.ndarray] | None) -> float | None:
    if band is None or actual.size == 0:
        return None
    lower, upper = band
    return float(np.mean((actual >= lower) & (actual <= upper)))


def model_metrics(backtest: Backtest, model: str, with_intervals: bool = True) -> ModelMetrics:
    """Metrics of one model of a backtest, with cross-calibrated interval coverage."""
    forecast = backtest.forecasts[model]
    actual = backtest.actuals
    scales = np.broadcast_to(backtest.mase_scales[:, None], actual.shape)
    band_80 = band_95 = None
    if with_intervals and len(backtest.origins) > 1:
        band_80 = cross_bounds(actual, forecast, backtest.levels, 0.8)
        band_95 = cross_bounds(actual, forecast, backtest.levels, 0.95)
    by_horizon = tuple(
        accuracy(
            h + 1,
            actual[:, h],
            forecast[:, h],
            scales[:, h],
            None if band_80 is None else (band_80[0][:, h], band_80[1][:, h]),
            None if band_95 is None else (band_95[0][:, h], band_95[1][:, h]),
        )
        for h in range(backtest.horizon)
    )
    overall = accuracy(0, actual, forecast, scales, band_80, band_95)
    return ModelMetrics(model, len(backtest.origins), overall, by_horizon)


def backtest_metrics(fit: ForecastFit) -> tuple[ModelMetrics, ...]:
    """The selected model's backtest metrics first, then the baselines' on the same origins.

    Empty when the history was too short for a backtest (``fit.notes`` says why).
    """
    if fit.backtest is None:
        return ()
    names = [fit.model, *(b for b in BASELINES if b != fit.model)]
    return tuple(model_metrics(fit.backtest, n) for n in names if n in fit.backtest.forecasts)
