"""Process deviations (SPC), quality spikes and inspection drift, volume outside the forecast."""

from __future__ import annotations

import numpy as np
import pytest

from ils.analytics.anomaly.process import process_findings
from ils.analytics.anomaly.quality import inspection_findings, spike_findings
from ils.analytics.anomaly.volume import volume_finding


def test_a_cycle_time_shift_at_a_station_is_flagged_and_a_stable_one_is_not() -> None:
    rng = np.random.default_rng(1)
    baseline = 30 + rng.standard_normal(60)
    stable = 30 + rng.standard_normal(40)
    shifted = stable.copy()
    shifted[20:] += 2.0
    times = np.arange(40.0)
    assert process_findings("edging", "cycle_time_min", baseline, stable, times) == []
    found = process_findings("edging", "cycle_time_min", baseline, shifted, times)
    assert found and min(f.detected_at for f in found) >= 20
    assert found[0].subject == "station:edging:cycle_time_min"
    assert found[0].evidence["nelson_rules"]


def test_steady_queue_growth_fires_the_trend_rule() -> None:
    rng = np.random.default_rng(2)
    baseline = 20 + 2 * rng.standard_normal(48)
    growing = np.r_[20 + 2 * rng.standard_normal(10), 20 + 1.5 * np.arange(8)]
    found = process_findings("surfacing", "queue_length", baseline, growing, np.arange(18.0))
    assert any(3 in f.evidence["nelson_rules"] for f in found)


def test_unknown_process_metric_is_refused() -> None:
    with pytest.raises(ValueError):
        process_findings("edging", "mood", [1.0, 2.0], [1.0], [0.0])


def test_inspection_error_drift_is_flagged() -> None:
    rng = np.random.default_rng(3)
    baseline = 0.03 * rng.standard_normal(50)
    drifting = 0.03 * rng.standard_normal(30) + np.r_[np.zeros(15), np.full(15, 0.06)]
    found = inspection_findings("/od/sphere", baseline, drifting, np.arange(30.0))
    assert found and all(f.kind == "quality" for f in found)
    assert min(f.detected_at for f in found) >= 15


def test_breakage_spike_by_station_and_reason() -> None:
    rates = {("edging", "chipped"): 0.01, ("surfacing", "power_miss"): 0.02}
    normal = {("edging", "chipped"): 3, ("surfacing", "power_miss"): 5}
    spike = {("edging", "chipped"): 15, ("surfacing", "power_miss"): 5}
    assert spike_findings("breakage", normal, 300, rates, at=0.0) == []
    found = spike_findings("breakage", spike, 300, rates, at=0.0)
    assert [f.subject for f in found] == ["breakage:edging:chipped"]
    assert found[0].evidence["p_value"] < found[0].evidence["level"]


def test_volume_outside_the_95_interval_only() -> None:
    assert volume_finding(0.0, 310, forecast=300, lower_95=260, upper_95=340) is None
    high = volume_finding(0.0, 420, forecast=300, lower_95=260, upper_95=340)
    low = volume_finding(0.0, 200, forecast=300, lower_95=260, upper_95=340)
    assert high is not None and high.evidence["direction"] == "above"
    assert high.severity == "critical"
    assert low is not None and low.evidence["direction"] == "below"
