"""Labelled feature rows of a lab's machines: the training set of the failure model.

A row at time t is positive when the machine fails within the next ``horizon_h`` hours
(``F - horizon_h <= t < F``). Rows carry the hours to that failure (for the lead-time regressor).
Resets (``maintenance`` and ``repair`` events) cut the feature windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ils.analytics.failure.features import FeatureFrame, MachineSeries, machine_features

_HOUR = 3600.0
EVENT_TYPES = frozenset({"failure", "maintenance", "repair"})


@dataclass(frozen=True)
class EquipmentEvent:
    equipment_id: str
    type: str
    at: float

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown equipment event type {self.type!r}")


@dataclass(frozen=True)
class MachineRows:
    frame: FeatureFrame
    failures: tuple[float, ...]
    observed_s: float

    @property
    def equipment_id(self) -> str:
        return self.frame.equipment_id


@dataclass(frozen=True)
class Dataset:
    machines: tuple[MachineRows, ...]
    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    horizon_h: float

    def select(self, ids: set[str]) -> Dataset:
        chosen = tuple(m for m in self.machines if m.equipment_id in ids)
        return Dataset(chosen, self.columns, self.metrics, self.horizon_h)

    def stacked(self, stride: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, hours_to_failure) of every ``stride``-th row of every machine."""
        xs, ys, ttf = [], [], []
        for m in self.machines:
            x = m.frame.x[::stride]
            t = m.frame.times[::stride]
            h = hours_to_next_failure(t, m.failures)
            xs.append(x)
            ys.append(h < self.horizon_h)
            ttf.append(h)
        if not xs:
            width = len(self.columns)
            return np.empty((0, width)), np.empty(0, dtype=bool), np.empty(0)
        return np.vstack(xs), np.concatenate(ys), np.concatenate(ttf)


def hours_to_next_failure(times: np.ndarray, failures: Sequence[float]) -> np.ndarray:
    """Hours from each time to the next failure strictly after it (inf when none)."""
    fails = np.sort(np.asarray(failures, dtype=float))
    if fails.size == 0:
        return np.full(times.shape, np.inf)
    pos = np.searchsorted(fails, times, side="right")
    nxt = np.where(pos < fails.size, fails[np.minimum(pos, fails.size - 1)], np.inf)
    return (nxt - times) / _HOUR


def build_dataset(
    series: Sequence[MachineSeries],
    events: Sequence[EquipmentEvent],
    *,
    horizon_h: float = 48.0,
    sample_every_h: float = 1.0,
) -> Dataset:
    """Feature rows and failure times of every machine that has readings."""
    by_machine: dict[str, list[EquipmentEvent]] = {}
    for e in events:
        by_machine.setdefault(e.equipment_id, []).append(e)
    rows = []
    metrics: tuple[str, ...] = series[0].metrics if series else ()
    for s in series:
        if s.metrics != metrics:
            raise ValueError("every machine of a lab must report the same metrics")
        evs = by_machine.get(s.equipment_id, [])
        resets = [e.at for e in evs if e.type in ("maintenance", "repair")]
        failures = tuple(sorted(e.at for e in evs if e.type == "failure"))
        frame = machine_features(s, resets, sample_every_h=sample_every_h)
        span = float(s.times.max() - s.times.min()) if s.times.size else 0.0
        rows.append(MachineRows(frame, failures, span))
    columns = rows[0].frame.columns if rows else ()
    return Dataset(tuple(rows), columns, metrics, horizon_h)
