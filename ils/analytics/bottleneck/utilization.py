"""Utilisation per station and lab-wide over time, in fixed buckets of a station trace."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ils.analytics.bottleneck.trace import StationTrace


@dataclass(frozen=True)
class UtilizationSeries:
    starts: list[float]
    stations: dict[str, list[float]]
    lab: list[float]


def utilization_series(trace: StationTrace, bucket_min: float) -> UtilizationSeries:
    """Mean busy / capacity per bucket; lab-wide is total busy over total capacity."""
    if bucket_min <= 0:
        raise ValueError("bucket must be positive")
    if len(trace) == 0:
        return UtilizationSeries([], {s: [] for s in trace.stations}, [])
    idx = np.floor((trace.times - trace.times[0]) / bucket_min).astype(int)
    starts: list[float] = []
    lab: list[float] = []
    per_station: dict[str, list[float]] = {s: [] for s in trace.stations}
    for b in np.unique(idx):
        rows = idx == b
        starts.append(float(trace.times[0] + b * bucket_min))
        busy, cap = trace.busy[rows].sum(axis=0), trace.capacity[rows].sum(axis=0)
        for j, name in enumerate(trace.stations):
            per_station[name].append(float(busy[j] / cap[j]) if cap[j] else 0.0)
        lab.append(float(busy.sum() / cap.sum()) if cap.sum() else 0.0)
    return UtilizationSeries(starts, per_station, lab)
