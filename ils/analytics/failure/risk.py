"""The failure risk of one machine now: what ``GET /api/equipment/{id}/failure-risk`` returns.

``probability_48h`` is the model's smoothed probability of a failure within 48 hours (the same
quantity the alarm threshold applies to). ``expected_failure_within_h`` is the lead-time regressor's
estimate, given only while the machine is in alarm (above the threshold); otherwise null.

``signals`` explain the probability by metric, by occlusion: a metric's contribution is how much the
probability drops when that metric's features are set to their healthy baseline values (level and
slope 0, noise ratio 1) while the other metrics keep theirs. Contributions may be negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ils.analytics.anomaly.finding import Finding
from ils.analytics.failure.dataset import EquipmentEvent
from ils.analytics.failure.features import NEUTRAL, MachineSeries, machine_features
from ils.analytics.failure.model import FailureModel

_HOUR = 3600.0


@dataclass(frozen=True)
class Signal:
    metric: str
    contribution: float


@dataclass(frozen=True)
class FailureRisk:
    equipment_id: str
    at: float | None
    probability_48h: float | None
    expected_failure_within_h: float | None
    in_alarm: bool
    signals: tuple[Signal, ...]
    model: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "probability_48h": self.probability_48h,
            "expected_failure_within_h": self.expected_failure_within_h,
            "signals": [{"metric": s.metric, "contribution": s.contribution} for s in self.signals],
            "model": self.model,
        }


def failure_risk(
    model: FailureModel,
    series: MachineSeries,
    events: Sequence[EquipmentEvent],
    now: float,
    *,
    stale_after_h: float = 2.0,
) -> FailureRisk:
    """Risk from the machine's readings up to ``now`` (epoch s). No fresh readings -> no figure."""
    resets = [e.at for e in events if e.type in ("maintenance", "repair") and e.at <= now]
    frame = machine_features(series, resets, until=now)
    recent = frame.times >= now - stale_after_h * _HOUR
    if not recent.any():
        return FailureRisk(series.equipment_id, None, None, None, False, (), model.name)
    x = frame.x[-max(model.smoothing_rows, 1) :]
    x = x[frame.times[-x.shape[0] :] >= now - (model.smoothing_rows + 1) * _HOUR]
    prob = float(model.probabilities(x).mean())
    alarm = prob >= model.threshold
    within = None
    if alarm and model.lead_regressor is not None:
        est = float(model.lead_regressor.predict(x[-1:])[0])
        within = float(np.clip(est, 0.0, model.horizon_h))
    signals = _signals(model, x, prob)
    return FailureRisk(
        series.equipment_id, float(frame.times[-1]), prob, within, alarm, signals, model.name
    )


def _signals(model: FailureModel, x: np.ndarray, prob: float) -> tuple[Signal, ...]:
    out = []
    for metric in model.metrics:
        masked = x.copy()
        for feature, neutral in NEUTRAL.items():
            masked[:, model.columns.index(f"{metric}:{feature}")] = neutral
        drop = prob - float(model.probabilities(masked).mean())
        out.append(Signal(metric, round(drop, 4)))
    return tuple(sorted(out, key=lambda s: -s.contribution))


def risk_finding(risk: FailureRisk, threshold: float) -> Finding | None:
    """An ``equipment`` finding (subject ``failure:<id>``) while the machine is in alarm.

    Severity is critical at twice the threshold or when the failure is expected within 12 hours.
    """
    if not risk.in_alarm or risk.probability_48h is None or risk.at is None:
        return None
    soon = risk.expected_failure_within_h is not None and risk.expected_failure_within_h <= 12.0
    critical = soon or risk.probability_48h >= 2.0 * threshold
    return Finding(
        kind="equipment",
        subject=f"failure:{risk.equipment_id}",
        severity="critical" if critical else "warning",
        detected_at=risk.at,
        rule="failure-48h",
        score=risk.probability_48h / threshold if threshold > 0 else float("inf"),
        evidence={**risk.as_dict(), "threshold": threshold},
    )
