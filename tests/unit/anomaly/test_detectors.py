"""Streaming, multivariate and equipment detectors on synthetic streams with injected anomalies."""

from __future__ import annotations

import pickle

import numpy as np

from ils.analytics.anomaly.equipment import MachineState, observe_batch, observe_machine
from ils.analytics.anomaly.multivariate import (
    MultivariateParams,
    MultivariateState,
    update_multivariate,
)
from ils.analytics.anomaly.streaming import MetricState, update_metric, update_metric_batch
from tests.unit.anomaly.streams import DAY, seasonal_stream


def _run(t: np.ndarray, x: np.ndarray) -> tuple[MetricState, list[str | None]]:
    state = MetricState()
    rules = []
    for ti, xi in zip(t, x, strict=True):
        state, s = update_metric(state, float(xi), float(ti))
        rules.append(s.rule)
    return state, rules


def test_the_daily_cycle_alone_raises_nothing() -> None:
    t, x = seasonal_stream(10, np.random.default_rng(1))
    _, rules = _run(t, x)
    assert sum(r is not None for r in rules[288:]) <= 2  # a 10-day clean stream: (almost) silent


def test_a_spike_is_flagged_by_the_robust_z_rule_at_that_reading() -> None:
    t, x = seasonal_stream(6, np.random.default_rng(2))
    at = int(5 * DAY / 600)
    x[at] += 5.0  # about 13 sigma of the noise, small against the 4-unit daily swing
    _, rules = _run(t, x)
    assert rules[at] is not None and "robust-z" in rules[at]
    assert all(r is None for r in rules[at - 50 : at])


def test_a_small_sustained_shift_is_flagged_by_cusum_soon_after_it_starts() -> None:
    t, x = seasonal_stream(8, np.random.default_rng(3))
    start = int(6 * DAY / 600)
    x[start:] += 0.6  # two noise sigmas: no single reading stands out
    _, rules = _run(t, x)
    fired = [i for i, r in enumerate(rules) if r and "cusum" in r and i >= start]
    assert fired and fired[0] - start < 24  # within 4 hours
    assert not any(r and "robust-z" in r for r in rules[start : start + 24])


def test_state_is_plain_data_that_survives_a_snapshot() -> None:
    t, x = seasonal_stream(3, np.random.default_rng(4))
    state, _ = _run(t[:-1], x[:-1])
    copy = pickle.loads(pickle.dumps(state))
    _, a = update_metric(state, float(x[-1]), float(t[-1]))
    _, b = update_metric(copy, float(x[-1]), float(t[-1]))
    assert a == b


def test_mahalanobis_catches_a_correlation_break_no_single_metric_shows() -> None:
    rng = np.random.default_rng(5)
    state = MultivariateState.empty(2)
    common = np.repeat(rng.standard_normal(1000), 6)  # a slow common driver (the load)
    z = np.stack(
        [common + 0.2 * rng.standard_normal(6000), common + 0.2 * rng.standard_normal(6000)], axis=1
    )
    z[5400:, 1] = -z[5400:, 0]  # the two metrics now move against each other
    flags = []
    for row in z:
        state, w = update_multivariate(state, row)
        if w is not None:
            flags.append(w.anomalous)
    split = 5400 // MultivariateParams().window
    before, after = flags[:split], flags[split:]
    assert sum(before) <= 1
    assert np.mean(after) > 0.5


def test_machine_detector_reports_findings_with_evidence() -> None:
    rng = np.random.default_rng(6)
    t, vib = seasonal_stream(5, rng, level=2.0, amplitude=0.3, noise=0.05)
    _, temp = seasonal_stream(5, rng, level=40.0, amplitude=2.0, noise=0.4)
    vib[-30:] += 0.8
    state = MachineState.empty("m1", ("vibration_mm_s", "spindle_temp_c"))
    found = []
    for ti, v, c in zip(t, vib, temp, strict=True):
        state, score = observe_machine(state, float(ti), {"vibration_mm_s": v, "spindle_temp_c": c})
        found += list(score.findings)
    late = [f for f in found if f.detected_at >= t[-30]]
    assert late and all(f.subject == "equipment:m1" for f in late)
    assert any(f.evidence.get("metric") == "vibration_mm_s" for f in late)
    assert not any(f.evidence.get("metric") == "spindle_temp_c" for f in late)


def test_a_quiet_sunday_is_learnt_after_one_week() -> None:
    t, x = seasonal_stream(16, np.random.default_rng(7))
    sunday = ((t + 3 * DAY) // DAY % 7) == 6  # Unix day 0 was a Thursday
    x[sunday] -= 3.0
    _, rules = _run(t, x)
    days = (t // DAY).astype(int)
    first, second = sorted(set(days[sunday]))[:2]
    flags = {
        d: sum(r is not None for r, dd in zip(rules, days, strict=True) if dd == d)
        for d in (first, second)
    }
    assert flags[first] >= 10  # nothing known about Sundays yet
    assert flags[second] <= 3  # at most around the step at midnight, which hourly bins smooth


def test_a_noise_burst_is_flagged_by_the_variance_rule() -> None:
    rng = np.random.default_rng(8)
    t, x = seasonal_stream(6, rng)
    start = int(5 * DAY / 600)
    x[start : start + 24] += 0.9 * rng.standard_normal(24)  # three times the noise, no shift
    _, rules = _run(t, x)
    fired = [r or "" for r in rules]
    assert any("variance" in r for r in fired[start : start + 24])
    assert not any("variance" in r for r in fired[288:start])


def test_a_batch_scores_exactly_as_one_reading_at_a_time() -> None:
    t, x = seasonal_stream(4, np.random.default_rng(6))
    x[500] += 5.0
    one, singles = MetricState(), []
    for ti, xi in zip(t, x, strict=True):
        one, s = update_metric(one, float(xi), float(ti))
        singles.append(s)
    batched, scores = MetricState(), []
    for k in range(0, t.size, 7):
        batched, part = update_metric_batch(batched, t[k : k + 7].tolist(), x[k : k + 7].tolist())
        scores.extend(part)
    assert [s.rules for s in scores] == [s.rules for s in singles]
    assert np.allclose([s.z for s in scores], [s.z for s in singles], rtol=1e-9, atol=1e-9)
    assert np.allclose(batched.weekly.values, one.weekly.values, equal_nan=True)
    assert batched.n == one.n and batched.last_at == one.last_at


def test_a_machine_batch_gives_the_same_findings_as_one_reading_at_a_time() -> None:
    t, a = seasonal_stream(4, np.random.default_rng(7))
    _, b = seasonal_stream(4, np.random.default_rng(8), level=40.0)
    a[450] += 6.0
    b[520:] += 1.0
    pairs = zip(a.tolist(), b.tolist(), strict=True)
    rows = [{"vibration_mm_s": u, "spindle_temp_c": v} for u, v in pairs]
    rows[300] = {"vibration_mm_s": float(a[300])}  # a reading missing one metric
    metrics = ("vibration_mm_s", "spindle_temp_c")
    one, single = MachineState.empty("m1", metrics), []
    for ti, r in zip(t, rows, strict=True):
        one, s = observe_machine(one, float(ti), r)
        single.append(s)
    batched, scores = MachineState.empty("m1", metrics), []
    for k in range(0, t.size, 5):
        batched, part = observe_batch(batched, t[k : k + 5].tolist(), rows[k : k + 5])
        scores.extend(part)
    assert [[f.rule for f in s.findings] for s in scores] == [
        [f.rule for f in s.findings] for s in single
    ]
    assert any(s.findings for s in scores)
    assert [s.joint is None for s in scores] == [s.joint is None for s in single]
