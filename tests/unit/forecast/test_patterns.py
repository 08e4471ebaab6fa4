from __future__ import annotations

from datetime import date

import numpy as np

from ils.analytics.forecast.patterns import seasonal_patterns
from ils.sim.demand import AFTER_HOLIDAY_FACTORS, HOLIDAY_FACTOR, WEEKDAY_PROFILE


def test_weekday_profile_is_recovered_with_intervals(lab_history: list[tuple[date, int]]) -> None:
    patterns = seasonal_patterns(lab_history, country="US")
    factors = np.array([e.factor for e in patterns.weekday])
    truth = np.array(WEEKDAY_PROFILE) / np.mean(WEEKDAY_PROFILE)
    assert np.allclose(factors, truth, rtol=0.08)
    assert all(e.lower_95 < e.factor < e.upper_95 for e in patterns.weekday)
    assert patterns.weekday[0].label == "monday"


def test_yearly_profile_has_twelve_months(lab_history: list[tuple[date, int]]) -> None:
    patterns = seasonal_patterns(lab_history, country="US")
    assert len(patterns.yearly) == 12
    january, june = patterns.yearly[0], patterns.yearly[5]
    assert january.factor > june.factor  # the simulator's January benefits peak


def test_holiday_and_catch_up_effects(lab_history: list[tuple[date, int]]) -> None:
    effects = {e.label: e for e in seasonal_patterns(lab_history, country="US").holidays}
    thanksgiving = effects["Thanksgiving Day"]
    assert thanksgiving.upper_95 < 0.5
    assert abs(np.log(thanksgiving.factor / HOLIDAY_FACTOR)) < 0.4
    after = effects["day after a holiday"]
    assert after.lower_95 > 1.0
    assert abs(after.factor - AFTER_HOLIDAY_FACTORS[0]) < 0.15


def test_short_history_says_why(lab_history: list[tuple[date, int]]) -> None:
    few = seasonal_patterns(lab_history[:10], country="US")
    assert few.weekday == () and few.notes
    half_year = seasonal_patterns(lab_history[:180], country="US")
    assert len(half_year.weekday) == 7 and half_year.yearly == ()
    assert any("yearly" in note for note in half_year.notes)
