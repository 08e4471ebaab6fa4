"""Control point charts: baseline limits, plotted points, violations completed by new points."""

from __future__ import annotations

import pytest

from ils.analytics.control_point import baseline_limits, new_violations, plotted

LIMITS = {"centre": 0.0, "sigma": 1.0}


def test_only_violations_completed_by_new_points_are_reported() -> None:
    history = [0.5] * 8  # eight above the centre: rule 2 needs nine
    found = new_violations(history, [0.4], LIMITS)
    assert [(v.rule, v.index) for v in found] == [(2, 0)]
    assert new_violations([*history, 0.4], [-0.2], LIMITS) == []  # the run is broken


def test_a_point_beyond_three_sigma_fires_rule_one() -> None:
    found = new_violations([0.1, -0.1], [0.2, 3.5], LIMITS)
    assert [(v.rule, v.index, v.value) for v in found] == [(1, 1, 3.5)]


def test_history_is_bounded_by_the_lookback() -> None:
    history = [3.5] + [0.1] * 40  # the old outlier is outside the window and never re-reported
    found = new_violations(history, [0.2], LIMITS)
    assert {v.rule for v in found} == {2, 7}  # the calm run is itself a pattern, rule 1 is gone
    assert [v.rule for v in new_violations([3.5, 0.1], [0.2], LIMITS)] == []


def test_baseline_limits_and_plotted_points() -> None:
    limits = baseline_limits("imr", [1.0, 3.0, 1.0, 3.0])
    assert limits["centre"] == 2.0
    assert limits["sigma"] == pytest.approx(2.0 / 1.128)
    assert plotted("xbar_r", [[1.0, 3.0], [2.0, 2.0]]) == [(2.0, 2.0), (2.0, 0.0)]
    assert plotted("imr", [1, 2]) == [(1.0, None), (2.0, None)]
    with pytest.raises(ValueError):
        baseline_limits("pareto", [1.0, 2.0])
