"""Window features for failure prediction, computed from one machine's own readings.

Times are epoch seconds (UTC). A machine's life is cut into segments at every reset (the end of a
maintenance or a repair): rolling windows never reach back across a reset, and every level is
measured against the machine's own baseline, the first ``baseline_h`` hours of the segment (an
expanding baseline inside those first hours, so that no feature ever looks ahead).

Per metric, in units of the baseline noise (sigma, from first differences, which ignores the slow
shift pattern):

- ``lvl6`` / ``lvl24``: rolling mean over 6 h / 24 h minus the baseline mean;
- ``slope``: mean of the last 24 h minus the mean of the 24 h before that;
- ``noise``: rolling 24 h sigma over the baseline sigma (wear makes readings noisier).

Plus ``hours_since_reset``. Features are sampled on a regular grid (``sample_every_h``), at the last
reading before each grid point; samples with no reading in the previous hour are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_HOUR = 3600.0
FEATURES_PER_METRIC: tuple[str, ...] = ("lvl6", "lvl24", "slope", "noise")
#: The value each per-metric feature takes on a machine in its healthy baseline state.
NEUTRAL: dict[str, float] = {"lvl6": 0.0, "lvl24": 0.0, "slope": 0.0, "noise": 1.0}


@dataclass(frozen=True)
class MachineSeries:
    """One machine's readings: ``values[i, j]`` is ``metrics[j]`` at ``times[i]`` (epoch s)."""

    equipment_id: str
    metrics: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class FeatureFrame:
    """Feature rows of one machine at ``times`` (epoch s)."""

    equipment_id: str
    times: np.ndarray
    columns: tuple[str, ...]
    x: np.ndarray


def feature_columns(metrics: Sequence[str]) -> tuple[str, ...]:
    cols = [f"{m}:{f}" for m in metrics for f in FEATURES_PER_METRIC]
    return (*cols, "hours_since_reset")


def machine_features(
    series: MachineSeries,
    resets: Sequence[float],
    *,
    sample_every_h: float = 1.0,
    baseline_h: float = 24.0,
    until: float | None = None,
) -> FeatureFrame:
    """Features of one machine on a regular grid (see the module docstring)."""
    cols = feature_columns(series.metrics)
    order = np.argsort(series.times, kind="stable")
    times, values = series.times[order], series.values[order]
    if until is not None:
        keep = times <= until
        times, values = times[keep], values[keep]
    if times.size < 2:
        return FeatureFrame(series.equipment_id, np.empty(0), cols, np.empty((0, len(cols))))
    reset_arr = np.sort(np.asarray(resets, dtype=float))
    segment = np.searchsorted(reset_arr, times, side="right")
    per_row = _segment_features(times, values, segment, reset_arr, baseline_h)
    picks = _sample_rows(times, sample_every_h)
    return FeatureFrame(series.equipment_id, times[picks], cols, per_row[picks])


def _segment_features(
    times: np.ndarray,
    values: np.ndarray,
    segment: np.ndarray,
    resets: np.ndarray,
    baseline_h: float,
) -> np.ndarray:
    n, m = values.shape
    out = np.empty((n, m * len(FEATURES_PER_METRIC) + 1))
    for seg in np.unique(segment):
        rows = np.nonzero(segment == seg)[0]
        start = resets[seg - 1] if seg > 0 else times[rows[0]]
        t, v = times[rows], values[rows]
        base_mean, base_sigma = _baseline(t, v, start, baseline_h)
        frame = pd.DataFrame(v, index=pd.to_datetime(t, unit="s"))
        mean6 = frame.rolling("6h").mean().to_numpy()
        mean24 = frame.rolling("24h").mean().to_numpy()
        prev24 = _lagged(frame.rolling("24h").mean(), 24.0)
        sigma24 = frame.diff().rolling("24h", min_periods=2).std().to_numpy() / np.sqrt(2.0)
        block = np.stack(
            [
                (mean6 - base_mean) / base_sigma,
                (mean24 - base_mean) / base_sigma,
                np.where(np.isnan(prev24), 0.0, (mean24 - prev24) / base_sigma),
                np.nan_to_num(sigma24 / base_sigma, nan=1.0),
            ],
            axis=2,
        )
        out[rows, :-1] = block.reshape(len(rows), -1)
        out[rows, -1] = (t - start) / _HOUR
    return out


def _baseline(
    t: np.ndarray, v: np.ndarray, start: float, baseline_h: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row expanding mean and sigma over the segment's first ``baseline_h`` hours."""
    count = np.arange(1, len(t) + 1)[:, None]
    cap = max(int(np.searchsorted(t, start + baseline_h * _HOUR, side="right")), 1)
    idx = np.minimum(np.arange(len(t)), cap - 1)
    mean = (np.cumsum(v, axis=0) / count)[idx]
    d = np.diff(v, axis=0, prepend=v[:1])
    d2 = np.cumsum(d**2, axis=0) / np.maximum(count - 1, 1)
    sigma = np.sqrt(d2[idx] / 2.0)
    floor = 1e-3 * np.maximum(np.abs(mean), 1.0)
    return mean, np.maximum(sigma, floor)


def _lagged(rolling: pd.DataFrame, hours: float) -> np.ndarray:
    """The rolling value as it was ``hours`` earlier (NaN before the series has that history)."""
    idx = rolling.index
    pos = idx.searchsorted(idx - pd.Timedelta(hours=hours), side="right") - 1
    vals = rolling.to_numpy()
    out = np.full(vals.shape, np.nan)
    ok = pos >= 0
    out[ok] = vals[pos[ok]]
    return out


def _sample_rows(times: np.ndarray, every_h: float) -> np.ndarray:
    """Index of the last reading in each grid cell, if that reading is fresh (within an hour)."""
    step = every_h * _HOUR
    cell = np.floor(times / step)
    last = np.nonzero(np.r_[cell[1:] != cell[:-1], True])[0]
    grid_end = (cell[last] + 1) * step
    return last[grid_end - times[last] <= _HOUR]
