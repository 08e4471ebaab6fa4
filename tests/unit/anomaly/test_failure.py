"""48-hour failure prediction on the degradation generator with known ground truth.

Generator parameters (stated, not defaults): 12 machines (3 of each kind), 75 days of 10-minute
readings, seed 21; per machine and 30 days: 1.0 gradual failures (wear over 3-10 days), 0.3
sudden failures, 0.4 harmless sensor drifts; maintenance every 25-35 days.
Evaluation: 3 groups of machines, each scored by a model trained on the other 8 machines
(50 boosting rounds, every 3rd hourly row, threshold from 2 inner machine folds).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ils.analytics.failure.dataset import Dataset, EquipmentEvent, build_dataset
from ils.analytics.failure.features import MachineSeries, machine_features
from ils.analytics.failure.model import (
    FailureModel,
    TrainingParams,
    machine_folds,
    smooth,
    train_failure_model,
)
from ils.analytics.failure.risk import failure_risk, risk_finding
from ils.analytics.failure.scoring import MachineAlarms, score_alarms
from ils.sim.telemetry import KINDS, DegradationParams, Machine, TelemetryGenerator

START = datetime(2026, 1, 1, tzinfo=UTC)
PARAMS = DegradationParams(gradual_rate=1.0, sudden_rate=0.3, drift_rate=0.4)
H = 3600.0
FAST = TrainingParams(max_iter=50, folds=2, train_stride=3)


@pytest.fixture(scope="module")
def lab() -> tuple[list[MachineSeries], list[EquipmentEvent], list[dict]]:  # type: ignore[type-arg]
    fleet = [Machine(f"m{i:02d}", KINDS[i % 4]) for i in range(12)]
    gen = TelemetryGenerator(fleet, np.random.default_rng(21), PARAMS)
    w = gen.frames_between(START, START + timedelta(days=75), timedelta(minutes=10))
    series = [MachineSeries(f.equipment_id, f.metrics, f.times, f.values) for f in w.frames]
    events = [EquipmentEvent(e["equipment_id"], e["type"], e["at"].timestamp()) for e in w.events]
    return series, events, w.events


@pytest.fixture(scope="module")
def data(lab) -> Dataset:  # type: ignore[no-untyped-def]
    return build_dataset(lab[0], lab[1])


@pytest.fixture(scope="module")
def model(data: Dataset) -> FailureModel:
    return train_failure_model(data, np.random.default_rng(0), FAST)


def _failures(raw: list[dict], cause: str) -> set[tuple[str, float]]:  # type: ignore[type-arg]
    return {
        (e["equipment_id"], e["at"].timestamp())
        for e in raw
        if e["type"] == "failure" and e["cause"] == cause
    }


def test_held_out_machines_get_warned_of_gradual_failures_not_sudden_ones(lab, data) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    ids = [m.equipment_id for m in data.machines]
    alarms = []
    for held in machine_folds(ids, 3, rng):
        m = train_failure_model(data.select(set(ids) - held), rng, FAST)
        for rows in data.machines:
            if rows.equipment_id in held:
                flags = m.smoothed(rows.frame.x) >= m.threshold
                alarms.append(
                    MachineAlarms(
                        rows.equipment_id, rows.frame.times, flags, rows.failures, rows.observed_s
                    )
                )
    score = score_alarms(alarms)
    gradual, sudden = _failures(lab[2], "gradual"), _failures(lab[2], "sudden")
    assert len(gradual) >= 15 and len(sudden) >= 3
    assert score.recall(gradual) >= 0.8
    assert score.median_lead_h(gradual) >= 24.0
    assert score.false_per_machine_month <= 2.0
    sudden_recall = score.recall(sudden)
    assert sudden_recall is not None and sudden_recall < score.recall(gradual)  # reported, low


def test_threshold_is_chosen_within_the_false_alarm_budget(model: FailureModel) -> None:
    assert 0.0 < model.threshold < 1.0
    assert model.choice.false_per_machine_month <= 1.0
    tight = model.choice
    assert tight.recall is not None and tight.recall > 0.5


def test_risk_rises_before_a_gradual_failure_and_names_its_signals(lab, model) -> None:  # type: ignore[no-untyped-def]
    series = {s.equipment_id: s for s in lab[0]}
    events = lab[1]
    gradual = sorted(_failures(lab[2], "gradual"), key=lambda f: f[1])
    eid, at = next(f for f in gradual if f[1] - START.timestamp() > 10 * 86400)
    evs = [e for e in events if e.equipment_id == eid]
    near = failure_risk(model, series[eid], evs, at - 6 * H)
    far = (
        failure_risk(model, series[eid], evs, at - 20 * 86400)
        if at - 20 * 86400 > (START.timestamp() + 2 * 86400)
        else failure_risk(model, series[eid], evs, at - 9 * 86400)
    )
    assert near.probability_48h is not None and far.probability_48h is not None
    assert near.probability_48h > far.probability_48h
    assert near.in_alarm and near.expected_failure_within_h is not None
    assert 0.0 <= near.expected_failure_within_h <= 48.0
    assert {s.metric for s in near.signals} == set(model.metrics)
    assert near.signals[0].contribution > 0.0
    body = near.as_dict()
    assert set(body) == {"probability_48h", "expected_failure_within_h", "signals", "model"}
    finding = risk_finding(near, model.threshold)
    assert finding is not None and finding.subject == f"failure:{eid}"
    assert finding.evidence["threshold"] == model.threshold
    assert far.in_alarm or risk_finding(far, model.threshold) is None


def test_no_fresh_readings_means_no_risk_figure(lab, model) -> None:  # type: ignore[no-untyped-def]
    s = lab[0][0]
    risk = failure_risk(model, s, [], float(s.times.max()) + 10 * 86400)
    assert risk.probability_48h is None and risk.signals == ()


def test_features_never_look_ahead() -> None:
    t = np.arange(0, 5 * 86400, 600.0)
    v = np.ones((t.size, 1)) + 0.01 * np.sin(t / 1000.0)[:, None]
    s = MachineSeries("x", ("a",), t, v)
    full = machine_features(s, [])
    changed = v.copy()
    changed[t > 3 * 86400] += 100.0
    cut = machine_features(MachineSeries("x", ("a",), t, changed), [])
    early = full.times <= 3 * 86400
    assert np.allclose(full.x[early], cut.x[early])


def test_scoring_counts_only_alarms_2_to_48_hours_before_a_failure() -> None:
    t = np.arange(0.0, 200 * H, H)
    f = 150 * H

    def score(on: list[int]):  # type: ignore[no-untyped-def]
        alarm = np.zeros(t.size, dtype=bool)
        alarm[on] = True
        return score_alarms([MachineAlarms("m", t, alarm, (f,), 30 * 86400)])

    assert score([120]).recall() == 1.0 and score([120]).median_lead_h() == 30.0
    assert score([149]).recall() == 0.0 and score([149]).false_episodes == 0  # too late
    assert score([10, 11, 12]).false_episodes == 1 and score([10, 11, 12]).recall() == 0.0
    assert score([10, 40]).false_episodes == 2


def test_smoothing_is_causal() -> None:
    p = np.array([0.0, 0.0, 1.0, 0.0])
    assert np.allclose(smooth(p, 2), [0.0, 0.0, 0.5, 0.5])
