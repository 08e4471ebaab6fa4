"""A control point's chart: limits from a baseline, plotted points, and rule checks on new points.

A control point is charted either as individuals with a moving range (``imr``: one value per
point) or as X-bar/R (``xbar_r``: one subgroup of ``subgroup_size`` values per point, plotted as
its mean, with its range). The Nelson rules run on the plotted points against the centre line
and the sigma of the plotted statistic (for X-bar, sigma of a subgroup mean). Rules look back
over the stored history, but only a violation completed by a NEW point is reported, so the same
pattern is not raised twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ils.analytics.spc import imr_limits, nelson_violations, subgroup_statistics, xbar_r_limits

CHARTS = ("imr", "xbar_r")
#: Points of history the rules look back over (rule 4 needs 14 points, rule 7 needs 15).
LOOKBACK = 30
NELSON_NAMES = {
    1: "one point beyond 3 sigma",
    2: "nine points in a row on one side of the centre line",
    3: "six points in a row steadily increasing or decreasing",
    4: "fourteen points in a row alternating up and down",
    5: "two of three points beyond 2 sigma on one side",
    6: "four of five points beyond 1 sigma on one side",
    7: "fifteen points in a row within 1 sigma",
    8: "eight points in a row beyond 1 sigma on both sides",
}


@dataclass(frozen=True)
class RuleViolation:
    rule: int
    index: int  # position among the new points
    value: float
    name: str


def baseline_limits(chart: str, baseline: Sequence[Any]) -> dict[str, Any]:
    """Control limits (as stored) from a baseline: values for I-MR, subgroups for X-bar/R."""
    if chart == "imr":
        imr = imr_limits([float(v) for v in baseline])
        centre = imr.individuals
        spread = imr.moving_range
        n = imr.n
    elif chart == "xbar_r":
        xr = xbar_r_limits([[float(v) for v in group] for group in baseline])
        centre, spread, n = xr.xbar, xr.r, xr.subgroups
    else:
        raise ValueError(f"unknown chart {chart!r}")
    return {
        "centre": centre.centre,
        "lcl": centre.lcl,
        "ucl": centre.ucl,
        "sigma": centre.sigma,
        "spread": {"centre": spread.centre, "lcl": spread.lcl, "ucl": spread.ucl},
        "baseline_points": n,
    }


def plotted(chart: str, values: Sequence[Any]) -> list[tuple[float, float | None]]:
    """(plotted value, spread) per point: values as they are, or subgroup (mean, range)."""
    if chart == "imr":
        return [(float(v), None) for v in values]
    means, ranges = subgroup_statistics([[float(v) for v in group] for group in values])
    return list(zip(means, ranges, strict=True))


def new_violations(
    history: Sequence[float], new: Sequence[float], limits: dict[str, Any]
) -> list[RuleViolation]:
    """Rule violations completed by the new points (history gives the rules their context)."""
    series = [*history[-LOOKBACK:], *new]
    offset = len(series) - len(new)
    found = nelson_violations(series, float(limits["centre"]), float(limits["sigma"]))
    out = [
        RuleViolation(rule, i - offset, series[i], NELSON_NAMES[rule])
        for rule, indices in sorted(found.items())
        for i in indices
        if i >= offset
    ]
    return sorted(out, key=lambda v: (v.index, v.rule))
