"""Equipment anomalies: one machine's streaming detectors (per metric + multivariate) together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    update_metric_batch,
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
    new, (score,) = observe_batch(state, [at], [metrics], params, joint_params)
    return new, score


def observe_batch(
    state: MachineState,
    times: Sequence[float],
    readings: Sequence[Mapping[str, float]],
    params: DetectorParams | None = None,
    joint_params: MultivariateParams | None = None,
) -> tuple[MachineState, list[MachineScore]]:
    """``observe_machine`` over a batch of one machine's readings, in time order.

    Each metric's readings go through its detector in one pass (``update_metric_batch``); the
    joint window then takes every reading's z-vector in order. Same scores as one at a time.
    """
    p = params or DetectorParams()
    per = dict(state.per_metric)
    by_metric: list[dict[int, MetricScore]] = []
    for name in state.metrics:
        idx = [i for i, r in enumerate(readings) if name in r]
        scored: dict[int, MetricScore] = {}
        if idx:
            xs = [float(readings[i][name]) for i in idx]
            per[name], scores = update_metric_batch(per[name], [times[i] for i in idx], xs, p)
            scored = dict(zip(idx, scores, strict=True))
        by_metric.append(scored)
    seen = [state.per_metric[name].n for name in state.metrics]
    joint, out = state.joint, []
    for i, at in enumerate(times):
        zs = np.zeros(len(state.metrics))
        per_score: dict[str, float] = {}
        findings: list[Finding] = []
        for k, name in enumerate(state.metrics):
            s = by_metric[k].get(i)
            if s is None:
                continue
            seen[k] += 1
            zs[k] = min(max(s.z, -10.0), 10.0) if s.warm else 0.0
            per_score[name] = s.score
            if s.rule is not None:
                eid = state.equipment_id
                findings.append(_metric_finding(eid, name, at, readings[i][name], s))
        joint_score = None
        if all(n >= p.warmup for n in seen):
            joint, w = update_multivariate(joint, zs, joint_params)
            if w is not None:
                joint_score = w.d2 / w.limit
                if w.anomalous:
                    eid, names = state.equipment_id, state.metrics
                    findings.append(_joint_finding(eid, names, at, w.vector, w))
        out.append(MachineScore(per_score, joint_score, tuple(findings)))
    last = times[-1] if len(times) else state.last_at
    return MachineState(state.equipment_id, state.metrics, per, joint, float(last)), out


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
