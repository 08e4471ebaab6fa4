"""Prediction intervals calibrated on backtest errors (split-conformal style).

Errors are scaled by ``max(forecast, 10% of the recent level, 1)`` (errors of daily demand grow
with the volume forecast for that day, so a quiet Sunday gets a narrow interval) and then by a
per-horizon spread ``sigma[h]`` (smoothed and non-decreasing in h). The empirical quantiles of
the standardised errors, pooled over origins and horizons, give the 80% and 95% bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVELS: tuple[float, ...] = (0.8, 0.95)
_NORMAL_Z = {0.8: 1.2815516, 0.95: 1.9599640}
SMOOTH_WINDOW = 7


@dataclass(frozen=True)
class IntervalCalibration:
    sigma: np.ndarray
    quantiles: dict[float, tuple[float, float]]
    method: str


def error_scale(forecasts: np.ndarray, levels: np.ndarray) -> np.ndarray:
    level = np.broadcast_to(np.asarray(levels, dtype=float), forecasts.shape[:-1])[..., None]
    return np.maximum(np.maximum(forecasts, 0.1 * level), 1.0)


def calibrate(
    actuals: np.ndarray, forecasts: np.ndarray, levels: np.ndarray
) -> IntervalCalibration:
    """Calibrate from backtest rows (origin x horizon)."""
    z = (actuals - forecasts) / error_scale(forecasts, levels)
    sigma = _smooth_sigma(np.sqrt(np.mean(z**2, axis=0)))
    pooled = (z / sigma).ravel()
    quantiles = {
        level: (
            float(np.quantile(pooled, (1 - level) / 2)),
            float(np.quantile(pooled, (1 + level) / 2)),
        )
        for level in LEVELS
    }
    return IntervalCalibration(sigma, quantiles, "backtest-conformal")


def _smooth_sigma(raw: np.ndarray) -> np.ndarray:
    kernel = np.ones(SMOOTH_WINDOW) / SMOOTH_WINDOW
    padded = np.pad(raw, (SMOOTH_WINDOW // 2, SMOOTH_WINDOW // 2), mode="edge")
    smooth = np.convolve(padded, kernel, mode="valid")[: len(raw)]
    floor = max(float(np.max(smooth)) * 1e-3, 1e-6)
    return np.maximum.accumulate(np.maximum(smooth, floor))


def naive_calibration(values: np.ndarray, horizon: int) -> IntervalCalibration:
    """Without a backtest: seasonal-naive in-sample errors, widened like a random walk by week."""
    if len(values) > 7:
        z = (values[7:] - values[:-7]) / np.maximum(values[:-7], 1.0)
    else:
        mean = max(float(np.mean(values)), 1.0)
        z = (values - mean) / mean if len(values) > 1 else np.array([1.0 / np.sqrt(mean)])
    spread = max(float(np.sqrt(np.mean(z**2))), 1.0 / np.sqrt(max(float(np.mean(values)), 1.0)))
    weeks = np.ceil(np.arange(1, horizon + 1) / 7.0)
    quantiles = {level: (-_NORMAL_Z[level], _NORMAL_Z[level]) for level in LEVELS}
    return IntervalCalibration(spread * np.sqrt(weeks), quantiles, "naive-normal")


def bounds(
    calibration: IntervalCalibration, path: np.ndarray, level_now: float, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the ``level`` interval around ``path`` (never below zero)."""
    spread = error_scale(path[None, :], np.array([level_now]))[0] * calibration.sigma[: len(path)]
    low_q, high_q = calibration.quantiles[level]
    return np.maximum(path + low_q * spread, 0.0), np.maximum(path + high_q * spread, 0.0)


def cross_bounds(
    actuals: np.ndarray, forecasts: np.ndarray, levels: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds for each backtest origin calibrated on the other origins (honest coverage)."""
    lower, upper = np.empty_like(forecasts), np.empty_like(forecasts)
    for row in range(len(forecasts)):
        keep = np.arange(len(forecasts)) != row
        if not keep.any():
            keep = ~keep
        cal = calibrate(actuals[keep], forecasts[keep], levels[keep])
        lower[row], upper[row] = bounds(cal, forecasts[row], float(levels[row]), level)
    return lower, upper
