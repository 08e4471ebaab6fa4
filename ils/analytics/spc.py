"""Statistical process control: Shewhart control limits and the eight Nelson rules.

Control limits are estimated from a baseline (phase I) and then applied to new points (phase II):
``imr_limits`` for individuals with a moving range, ``xbar_r_limits`` for rational subgroups.

The chart constants d2, D3, D4 and A2 are the standard tabulated values for subgroup sizes 2..10
(ASTM E2587-16 table 1; Montgomery, "Introduction to Statistical Quality Control", 8th ed.,
appendix table VI; NIST/SEMATECH e-Handbook of Statistical Methods 6.3.2). The unit tests
re-derive d2 by numerical integration of the range distribution.

The Nelson rules (L. S. Nelson, "The Shewhart Control Chart - Tests for Special Causes", Journal of
Quality Technology 16(4), 1984) are written here because neither statsmodels nor scipy provides
them, and the small PyPI packages that do are unmaintained. Each rule returns the indices of the
points at which it fires: the last point of a window that completes the pattern. For the "k of m"
rules (5 and 6) the flagged point must itself be one of the k points beyond the limit, and a
window is the last m points (fewer at the very start of the sequence). Points exactly on the
centre line break a same-side run; equal neighbours break a trend or an alternation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: subgroup size -> (d2, D3, D4, A2)
CHART_CONSTANTS: dict[int, tuple[float, float, float, float]] = {
    2: (1.128, 0.0, 3.267, 1.880),
    3: (1.693, 0.0, 2.574, 1.023),
    4: (2.059, 0.0, 2.282, 0.729),
    5: (2.326, 0.0, 2.114, 0.577),
    6: (2.534, 0.0, 2.004, 0.483),
    7: (2.704, 0.076, 1.924, 0.419),
    8: (2.847, 0.136, 1.864, 0.373),
    9: (2.970, 0.184, 1.816, 0.337),
    10: (3.078, 0.223, 1.777, 0.308),
}

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class ControlLimits:
    centre: float
    lcl: float
    ucl: float
    sigma: float


@dataclass(frozen=True)
class IMRLimits:
    individuals: ControlLimits
    moving_range: ControlLimits
    n: int


@dataclass(frozen=True)
class XbarRLimits:
    xbar: ControlLimits
    r: ControlLimits
    subgroup_size: int
    subgroups: int


def _constants(n: int) -> tuple[float, float, float, float]:
    if n not in CHART_CONSTANTS:
        raise ValueError(f"subgroup size must be within 2..10, got {n}")
    return CHART_CONSTANTS[n]


def imr_limits(baseline: Sequence[float]) -> IMRLimits:
    """Individuals and moving-range (span 2) limits; sigma is MR-bar / d2(2)."""
    x = np.asarray(baseline, dtype=float)
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError("an I-MR baseline needs at least 2 finite values")
    d2, d3_, d4_, _ = _constants(2)
    mr_bar = float(np.mean(np.abs(np.diff(x))))
    centre = float(np.mean(x))
    sigma = mr_bar / d2
    individuals = ControlLimits(centre, centre - 3 * sigma, centre + 3 * sigma, sigma)
    moving_range = ControlLimits(mr_bar, d3_ * mr_bar, d4_ * mr_bar, sigma)
    return IMRLimits(individuals, moving_range, int(x.size))


def xbar_r_limits(subgroups: Sequence[Sequence[float]]) -> XbarRLimits:
    """X-bar and R chart limits from equal-size subgroups (size 2..10)."""
    data = np.asarray(subgroups, dtype=float)
    if data.ndim != 2 or data.shape[0] < 1 or not np.all(np.isfinite(data)):
        raise ValueError("X-bar/R needs a non-empty rectangular table of finite values")
    n = int(data.shape[1])
    d2, d3_, d4_, a2 = _constants(n)
    means = data.mean(axis=1)
    ranges = data.max(axis=1) - data.min(axis=1)
    grand = float(means.mean())
    r_bar = float(ranges.mean())
    sigma = r_bar / d2
    xbar = ControlLimits(grand, grand - a2 * r_bar, grand + a2 * r_bar, sigma / np.sqrt(n))
    r = ControlLimits(r_bar, d3_ * r_bar, d4_ * r_bar, sigma)
    return XbarRLimits(xbar, r, n, int(data.shape[0]))


def subgroup_statistics(subgroups: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    """Means and ranges of subgroups, the points plotted on X-bar and R charts."""
    data = np.asarray(subgroups, dtype=float)
    return data.mean(axis=1).tolist(), (data.max(axis=1) - data.min(axis=1)).tolist()


def _z(values: Sequence[float], centre: float, sigma: float) -> Floats:
    if not sigma > 0:
        raise ValueError("sigma must be positive")
    return (np.asarray(values, dtype=float) - centre) / sigma


def _runs(flags: NDArray[np.bool_], length: int) -> list[int]:
    """Indices i at which flags[i - length + 1 .. i] are all true."""
    if flags.size < length:
        return []
    counts = np.convolve(flags.astype(int), np.ones(length, dtype=int), mode="valid")
    return [int(i) + length - 1 for i in np.flatnonzero(counts == length)]


def _k_of_m(beyond: NDArray[np.bool_], k: int, m: int) -> list[int]:
    """Indices i where beyond[i] and at least k of the last m points (clipped) are beyond."""
    cumulative = np.concatenate(([0], np.cumsum(beyond.astype(int))))
    idx = np.arange(beyond.size)
    in_window = cumulative[idx + 1] - cumulative[np.maximum(idx + 1 - m, 0)]
    return [int(i) for i in np.flatnonzero(beyond & (in_window >= k))]


def rule1(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """One point more than 3 sigma from the centre line."""
    return [int(i) for i in np.flatnonzero(np.abs(_z(values, centre, sigma)) > 3)]


def rule2(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Nine (or more) points in a row on the same side of the centre line."""
    z = _z(values, centre, sigma)
    return sorted(_runs(z > 0, 9) + _runs(z < 0, 9))


def rule3(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Six (or more) points in a row steadily increasing or steadily decreasing."""
    step = np.diff(_z(values, centre, sigma))
    return sorted(i + 1 for i in _runs(step > 0, 5) + _runs(step < 0, 5))


def rule4(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Fourteen (or more) points in a row alternating up and down."""
    sign = np.sign(np.diff(_z(values, centre, sigma)))
    alternating = (sign[1:] * sign[:-1]) < 0  # step j+1 reverses step j
    return [i + 2 for i in _runs(alternating, 12)]


def rule5(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Two out of three points in a row more than 2 sigma from the centre, on the same side."""
    z = _z(values, centre, sigma)
    return sorted(_k_of_m(z > 2, 2, 3) + _k_of_m(z < -2, 2, 3))


def rule6(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Four out of five points in a row more than 1 sigma from the centre, on the same side."""
    z = _z(values, centre, sigma)
    return sorted(_k_of_m(z > 1, 4, 5) + _k_of_m(z < -1, 4, 5))


def rule7(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Fifteen points in a row within 1 sigma of the centre line (either side)."""
    return _runs(np.abs(_z(values, centre, sigma)) < 1, 15)


def rule8(values: Sequence[float], centre: float, sigma: float) -> list[int]:
    """Eight points in a row none within 1 sigma of the centre, with points on both sides."""
    z = _z(values, centre, sigma)
    outside = _runs(np.abs(z) > 1, 8)
    return [i for i in outside if np.any(z[i - 7 : i + 1] > 0) and np.any(z[i - 7 : i + 1] < 0)]


NelsonRule = Callable[[Sequence[float], float, float], list[int]]

NELSON_RULES: dict[int, NelsonRule] = {
    1: rule1,
    2: rule2,
    3: rule3,
    4: rule4,
    5: rule5,
    6: rule6,
    7: rule7,
    8: rule8,
}


def nelson_violations(values: Sequence[float], centre: float, sigma: float) -> dict[int, list[int]]:
    """Every rule that fires, mapped to the indices where it fires (rules that do not fire are
    left out)."""
    found = {number: rule(values, centre, sigma) for number, rule in NELSON_RULES.items()}
    return {number: indices for number, indices in found.items() if indices}
