"""Event-based scoring of failure alarms.

Definitions (used by threshold selection and by ``ils bench maintenance``):

- An *alarm* is a sample whose smoothed probability is at or above the threshold. Alarm samples
  closer than ``merge_gap_h`` to each other form one *episode*.
- A failure at time F is *detected* when some alarm sample falls in ``[F - 48 h, F - 2 h]``; its
  *lead time* is F minus the first alarm in that window. An alarm later than F - 2 h is too late to
  act on: it detects nothing (it is not counted as a false alarm either).
- A *false-alarm episode* is an episode with no sample in ``[F - 48 h, F]`` of any failure.
- False alarms are reported per machine-month (30 days of observed machine time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_HOUR = 3600.0
MONTH_S = 30.0 * 86400.0


@dataclass(frozen=True)
class ScoringWindow:
    earliest_h: float = 48.0
    latest_h: float = 2.0
    merge_gap_h: float = 6.0


@dataclass(frozen=True)
class MachineAlarms:
    """One machine's sample times, alarm flags and failures (epoch s) over an observed span."""

    equipment_id: str
    times: np.ndarray
    alarm: np.ndarray
    failures: tuple[float, ...]
    observed_s: float


@dataclass(frozen=True)
class FailureOutcome:
    equipment_id: str
    at: float
    detected: bool
    lead_h: float | None


@dataclass(frozen=True)
class AlarmScore:
    outcomes: tuple[FailureOutcome, ...]
    false_episodes: int
    machine_months: float

    @property
    def false_per_machine_month(self) -> float:
        return self.false_episodes / self.machine_months if self.machine_months else 0.0

    def recall(self, at: set[tuple[str, float]] | None = None) -> float | None:
        """Share of failures detected (of those in ``at`` when given); None when there are none."""
        chosen = [o for o in self.outcomes if at is None or (o.equipment_id, o.at) in at]
        return sum(o.detected for o in chosen) / len(chosen) if chosen else None

    def median_lead_h(self, at: set[tuple[str, float]] | None = None) -> float | None:
        leads = [
            o.lead_h
            for o in self.outcomes
            if o.lead_h is not None and (at is None or (o.equipment_id, o.at) in at)
        ]
        return float(np.median(leads)) if leads else None


def episodes(times: np.ndarray, alarm: np.ndarray, merge_gap_h: float) -> list[np.ndarray]:
    """Alarm sample times grouped into episodes."""
    hits = times[alarm]
    if hits.size == 0:
        return []
    cuts = np.nonzero(np.diff(hits) > merge_gap_h * _HOUR)[0] + 1
    return np.split(hits, cuts)


def score_machine(m: MachineAlarms, w: ScoringWindow) -> tuple[list[FailureOutcome], int]:
    hits = m.times[m.alarm]
    outcomes = []
    for f in m.failures:
        inside = hits[(hits >= f - w.earliest_h * _HOUR) & (hits <= f - w.latest_h * _HOUR)]
        lead = (f - inside[0]) / _HOUR if inside.size else None
        outcomes.append(FailureOutcome(m.equipment_id, f, inside.size > 0, lead))
    return outcomes, len(false_episodes(m, w))


def false_episodes(m: MachineAlarms, w: ScoringWindow) -> list[np.ndarray]:
    """The machine's alarm episodes with no sample in ``[F - 48 h, F]`` of any failure F."""
    fails = np.asarray(m.failures, dtype=float)
    out = []
    for ep in episodes(m.times, m.alarm, w.merge_gap_h):
        near = (ep[:, None] >= fails[None, :] - w.earliest_h * _HOUR) & (ep[:, None] <= fails)
        if not near.any():
            out.append(ep)
    return out


def score_alarms(machines: Sequence[MachineAlarms], w: ScoringWindow | None = None) -> AlarmScore:
    w = w or ScoringWindow()
    outcomes: list[FailureOutcome] = []
    false = 0
    for m in machines:
        o, f = score_machine(m, w)
        outcomes += o
        false += f
    months = sum(m.observed_s for m in machines) / MONTH_S
    return AlarmScore(tuple(outcomes), false, months)
