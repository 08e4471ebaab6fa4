"""Multivariate detector per machine: Mahalanobis distance of window means of the metric z-scores.

Readings are grouped into windows of ``window`` readings; each window gives one vector (the mean
robust z-score of every metric, from the streaming detectors). Its squared Mahalanobis distance
from the running (EWMA) mean and covariance of past normal windows is compared with the chi-square
quantile at ``1 - alpha``: this catches combinations that no single metric shows (for example
current rising while cycle time falls). Anomalous windows do not update the mean and covariance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.stats import chi2


@dataclass(frozen=True)
class MultivariateParams:
    window: int = 12
    weight: float = 0.02
    alpha: float = 1e-4
    warmup_windows: int = 48
    ridge: float = 1e-3


@dataclass(frozen=True)
class MultivariateState:
    dims: int
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    windows: int = 0
    buffer_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    buffer_n: int = 0

    @classmethod
    def empty(cls, dims: int) -> MultivariateState:
        return cls(dims, np.zeros(dims), np.eye(dims), 0, np.zeros(dims), 0)


@dataclass(frozen=True)
class WindowScore:
    d2: float
    limit: float
    anomalous: bool
    vector: np.ndarray


def update_multivariate(
    state: MultivariateState, z: np.ndarray, p: MultivariateParams | None = None
) -> tuple[MultivariateState, WindowScore | None]:
    """Add one reading's z-vector; when a window completes, score it (else None)."""
    p = p or MultivariateParams()
    total = state.buffer_sum + z
    n = state.buffer_n + 1
    if n < p.window:
        return _with_buffer(state, total, n), None
    v = total / n
    diff = v - state.mean
    cov = state.cov + p.ridge * np.eye(state.dims)
    d2 = float(diff @ np.linalg.solve(cov, diff))
    limit = _limit(p.alpha, state.dims)
    warm = state.windows >= p.warmup_windows
    anomalous = warm and d2 > limit
    mean, new_cov = state.mean, state.cov
    if not anomalous:
        w = p.weight if warm else 1.0 / (state.windows + 1)
        mean = state.mean + w * diff
        new_cov = (1 - w) * state.cov + w * np.outer(diff, diff) if state.windows else state.cov
    new = MultivariateState(state.dims, mean, new_cov, state.windows + 1, np.zeros(state.dims), 0)
    return new, WindowScore(d2, limit, anomalous, v)


@lru_cache(maxsize=64)
def _limit(alpha: float, dims: int) -> float:
    """The chi-square alarm limit (cached: ``chi2.ppf`` costs more than the rest of a window)."""
    return float(chi2.ppf(1.0 - alpha, dims))


def _with_buffer(state: MultivariateState, total: np.ndarray, n: int) -> MultivariateState:
    return MultivariateState(state.dims, state.mean, state.cov, state.windows, total, n)
