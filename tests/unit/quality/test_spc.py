"""Control limits and the Nelson rules: textbook sequences that fire, near misses that do not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from ils.analytics.spc import (
    CHART_CONSTANTS,
    imr_limits,
    nelson_violations,
    rule1,
    rule2,
    rule3,
    rule4,
    rule5,
    rule6,
    rule7,
    rule8,
    subgroup_statistics,
    xbar_r_limits,
)


@pytest.mark.parametrize("n", sorted(CHART_CONSTANTS))
def test_d2_and_a2_match_the_range_distribution(n: int) -> None:
    def integrand(x: float) -> float:
        cdf = float(stats.norm.cdf(x))
        return 1.0 - cdf**n - (1.0 - cdf) ** n

    d2_exact, _ = integrate.quad(integrand, -10, 10)
    d2, _, _, a2 = CHART_CONSTANTS[n]
    assert d2 == pytest.approx(d2_exact, abs=6e-4)
    assert a2 == pytest.approx(3 / (d2_exact * np.sqrt(n)), abs=6e-4)


def test_d3_d4_match_simulated_ranges() -> None:
    rng = np.random.default_rng(20261125)
    for n, (d2, big_d3, big_d4, _) in CHART_CONSTANTS.items():
        samples = rng.standard_normal((200_000, n))
        ranges = samples.max(axis=1) - samples.min(axis=1)
        d3 = ranges.std()
        assert big_d4 == pytest.approx(1 + 3 * d3 / d2, abs=0.01)
        assert big_d3 == pytest.approx(max(0.0, 1 - 3 * d3 / d2), abs=0.01)


def test_imr_limits_by_hand() -> None:
    limits = imr_limits([10, 12, 11, 13, 12])
    sigma = 1.5 / 1.128
    assert limits.individuals.centre == pytest.approx(11.6)
    assert limits.individuals.sigma == pytest.approx(sigma)
    assert limits.individuals.ucl == pytest.approx(11.6 + 3 * sigma)
    assert limits.individuals.lcl == pytest.approx(11.6 - 3 * sigma)
    assert limits.moving_range.centre == pytest.approx(1.5)
    assert limits.moving_range.ucl == pytest.approx(3.267 * 1.5)
    assert limits.moving_range.lcl == 0.0
    assert limits.n == 5


def test_xbar_r_limits_by_hand() -> None:
    groups = [[1, 2, 3], [2, 3, 4]]
    limits = xbar_r_limits(groups)
    assert limits.xbar.centre == pytest.approx(2.5)
    assert limits.xbar.ucl == pytest.approx(2.5 + 1.023 * 2)
    assert limits.xbar.lcl == pytest.approx(2.5 - 1.023 * 2)
    assert limits.r.centre == pytest.approx(2.0)
    assert limits.r.ucl == pytest.approx(2.574 * 2)
    assert limits.r.lcl == 0.0
    assert (limits.subgroup_size, limits.subgroups) == (3, 2)
    assert subgroup_statistics(groups) == ([2.0, 3.0], [2.0, 2.0])


def test_xbar_r_d3_is_used_for_large_subgroups() -> None:
    groups = [list(range(8)), list(range(1, 9))]
    assert xbar_r_limits(groups).r.lcl == pytest.approx(0.136 * 7)


@pytest.mark.parametrize("bad", [[], [1.0], [1.0, float("nan")]], ids=["empty", "single", "nan"])
def test_imr_refuses_too_little_data(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        imr_limits(bad)


@pytest.mark.parametrize("size", [1, 11])
def test_xbar_r_refuses_unsupported_subgroup_sizes(size: int) -> None:
    with pytest.raises(ValueError):
        xbar_r_limits([[0.0] * size, [1.0] * size])


def test_sigma_must_be_positive() -> None:
    with pytest.raises(ValueError):
        rule1([1.0], 0.0, 0.0)


RULE_CASES = [
    # rule, sequence (centre 0, sigma 1), expected indices
    (rule1, [0, 0, 3.5, 0, -3.2], [2, 4]),
    (rule1, [3.0, -3.0, 2.9], []),
    (rule2, [0.5] * 9, [8]),
    (rule2, [-0.5] * 10, [8, 9]),
    (rule2, [0.5] * 8 + [-0.5] + [0.5] * 8, []),
    (rule2, [0.5] * 4 + [0.0] + [0.5] * 4, []),
    (rule3, [0, 0.1, 0.2, 0.3, 0.4, 0.5], [5]),
    (rule3, [2, 1.5, 1, 0.5, 0, -0.5, -1], [5, 6]),
    (rule3, [0, 0.1, 0.2, 0.3, 0.4], []),
    (rule3, [0, 0.1, 0.2, 0.2, 0.3, 0.4], []),
    (rule4, [0.5, -0.5] * 7, [13]),
    (rule4, [0.5, -0.5] * 7 + [0.5], [13, 14]),
    (rule4, [0.5, -0.5] * 6 + [0.5], []),
    (rule4, [0.5, -0.5] * 3 + [-0.5] + [0.5, -0.5] * 4, []),
    (rule5, [0, 2.5, 0, 2.5], [3]),
    (rule5, [2.5, 2.5], [1]),
    (rule5, [-2.1, 0, -2.1, 0], [2]),
    (rule5, [2.5, 0, 0, 2.5], []),
    (rule5, [2.5, -2.5, 2.5], [2]),
    (rule5, [2.5, -2.5, 0, 2.5], []),
    (rule5, [2.0, 2.0, 2.0], []),
    (rule6, [1.5, 1.5, 0, 1.5, 1.5], [4]),
    (rule6, [-1.5] * 4, [3]),
    (rule6, [1.5, 1.5, 0, 0, 1.5, 1.5], []),
    (rule6, [1.5, 1.5, -1.5, 1.5, 0], []),
    (rule7, [0.5, -0.5, 0.9] * 5, [14]),
    (rule7, [0.5, -0.5] * 7, []),
    (rule7, [0.5] * 7 + [1.0] + [0.5] * 7, []),
    (rule8, [1.5, -1.5] * 4, [7]),
    (rule8, [1.5] * 8, []),
    (rule8, [1.5, -1.5] * 3 + [1.5], []),
    (rule8, [1.5, -1.5, 1.5, -1.0, 1.5, -1.5, 1.5, -1.5], []),
]


@pytest.mark.parametrize(("rule", "values", "expected"), RULE_CASES)
def test_nelson_rule(rule: object, values: list[float], expected: list[int]) -> None:
    assert callable(rule)
    assert rule(values, 0.0, 1.0) == expected


def test_rules_respect_centre_and_sigma() -> None:
    values = [10 + 0.5 * 2] * 9  # 1 sigma above a centre of 10 with sigma 2
    assert rule2(values, 10.0, 2.0) == [8]
    assert rule6(values, 10.0, 2.0) == []  # exactly 1 sigma is not beyond it
    assert rule1([16.5], 10.0, 2.0) == [0]


def test_in_control_noise_rarely_fires_and_a_shift_is_caught() -> None:
    rng = np.random.default_rng(7)
    baseline = rng.normal(50.0, 2.0, 200)
    limits = imr_limits(baseline).individuals
    assert limits.sigma == pytest.approx(2.0, rel=0.15)
    shifted = rng.normal(53.0, 2.0, 40)  # a 1.5 sigma shift
    found = nelson_violations(np.concatenate([baseline, shifted]), limits.centre, limits.sigma)
    assert any(i >= 200 for i in found.get(2, []))
    assert all(set(v) for v in found.values())


def test_false_alarm_rates_of_in_control_noise() -> None:
    values = np.random.default_rng(11).standard_normal(5000)
    found = nelson_violations(values, 0.0, 1.0)
    # Rule 1 alone has a 0.27% false-alarm rate for a normal process.
    assert 0.001 < len(found[1]) / values.size < 0.005
    flagged = set().union(*found.values())
    assert len(flagged) / values.size < 0.05
