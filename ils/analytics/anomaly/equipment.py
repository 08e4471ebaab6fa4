"""Equipment anomalies: one machine's streaming detectors (per metric + multivariate) together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ils.analytics.anomaly.finding import Finding, severity_for
from ils.analytics.anomaly.multivariate import (
    MultivariateParams,
    MultivariateState,
    WindowScore,
    update_multivariate,
)
from ils.analytics.anomaly.streaming import (
    DetectorParams,
    MetricScore,
    MetricState,
    update_metric,
)


@dataclass(frozen=True)
class MachineState:
    equipment_id: str
    metrics: tuple[str, ...]
    per_metric: dict[str, MetricState]
    joint: MultivariateState
    last_at: float = float("-inf")

    @classmethod
    def empty(cls, equipment_id: str, metrics: tuple[str, ...]) -> MachineState:
        per = {m: MetricState() for m in metrics}
        return cls(equipment_id, metrics, per, MultivariateState.empty(len(metrics)))


@dataclass(frozen=True)
class MachineScore:
    """Continuous scores of one reading (>= 1 means a rule fired): per metric and joint."""

    per_metric: dict[str, float]
    joint: float | None
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def observe_machine(
    state: MachineState,
    at: float,
    metrics: Mapping[str, float],
    params: DetectorParams | None = None,
    joint_params: MultivariateParams | None = None,
) -> tuple[MachineState, MachineScore]:
    """Fold one validated reading into the machine's detectors; findings for every rule that fired.

    Metrics missing from the reading keep their state (their z counts as 0 in the joint window).
    """
    per = dict(state.per_metric)
    zs = np.zeros(len(state.metrics))
    scores: dict[str, float] = {}
    findings: list[Finding] = []
    for i, name in enumerate(state.metrics):
        if name not in metrics:
            continue
        per[name], s = update_metric(per[name], float(metrics[name]), at, params)
        zs[i] = float(np.clip(s.z, -10.0, 10.0)) if s.warm else 0.0
        scores[name] = s.score
        if s.rule is not None:
            findings.append(_metric_finding(state.equipment_id, name, at, metrics[name], s))
    joint, w = state.joint, None
    if all(per[name].n >= (params or DetectorParams()).warmup for name in state.metrics):
        joint, w = update_multivariate(state.joint, zs, joint_params)
    joint_score = None
    if w is not None:
        joint_score = w.d2 / w.limit
        if w.anomalous:
            findings.append(_joint_finding(state.equipment_id, state.metrics, at, w.vector, w))
    new = MachineState(state.equipment_id, state.metrics, per, joint, at)
    return new, MachineScore(scores, joint_score, tuple(findings))


def _metric_finding(eid: str, name: str, at: float, value: float, s: MetricScore) -> Finding:
    return Finding(
        kind="equipment",
        subject=f"equipment:{eid}",
        severity=severity_for(s.score),
        detected_at=at,
        rule=f"{name}:{s.rule}",
        score=s.score,
        evidence={
            "metric": name,
            "value": float(value),
            "z": round(s.z, 3),
            "cusum": round(s.cusum, 3),
            "rule": s.rule,
        },
    )


def _joint_finding(
    eid: str, metrics: tuple[str, ...], at: float, vector: np.ndarray, w: WindowScore
) -> Finding:
    return Finding(
        kind="equipment",
        subject=f"equipment:{eid}",
        severity=severity_for(w.d2 / w.limit),
        detected_at=at,
        rule="mahalanobis",
        score=w.d2 / w.limit,
        evidence={
            "window_mean_z": {m: round(float(v), 3) for m, v in zip(metrics, vector, strict=True)},
            "d2": round(w.d2, 3),
            "limit": round(w.limit, 3),
            "rule": "mahalanobis",
        },
    )
