from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from ils.analytics.forecast.selection import ForecastDay
from ils.analytics.staffing import (
    StaffingCosts,
    minutes_per_order,
    order_quantile,
    staffing_plan,
)
from ils.errors import ValidationFailed

DAY = ForecastDay(date(2026, 12, 1), 400.0, 360.0, 440.0, 340.0, 470.0)
COSTS = StaffingCosts(idle_staff_hour=30.0, short_labour_hour=90.0)


def test_quantile_passes_through_the_forecast_bounds() -> None:
    q = order_quantile(DAY, np.array([0.025, 0.1, 0.5, 0.9, 0.975]))
    assert q == pytest.approx([340.0, 360.0, 400.0, 440.0, 470.0], rel=1e-3)
    assert order_quantile(DAY, np.array([0.99]))[0] > 470.0


def test_staff_is_sized_on_the_service_level_quantile() -> None:
    plan = staffing_plan([DAY], {"edging": 6.0}, costs=COSTS, shift_hours=8, service_level=0.9)
    edging = plan.days[0].stations[0]
    assert plan.days[0].orders_at_service_level == pytest.approx(440.0, rel=1e-3)
    assert edging.labour_minutes == pytest.approx(440.0 * 6.0, rel=1e-3)
    assert edging.staff_per_shift == math.ceil(440.0 * 6.0 / (8 * 60 * 0.85))
    assert edging.achieved_service_level >= 0.9


def test_higher_service_level_costs_more_idle_and_less_shortfall() -> None:
    low = staffing_plan([DAY], {"edging": 6.0}, costs=COSTS, service_level=0.6).days[0].stations[0]
    high = (
        staffing_plan([DAY], {"edging": 6.0}, costs=COSTS, service_level=0.99).days[0].stations[0]
    )
    assert high.staff_per_shift >= low.staff_per_shift
    assert high.over_staffing_cost >= low.over_staffing_cost
    assert high.under_staffing_cost <= low.under_staffing_cost


def test_two_shifts_halve_the_staff_per_shift_and_costs_give_the_critical_ratio() -> None:
    one = staffing_plan([DAY], {"surfacing": 12.0}, costs=COSTS, shifts_per_day=1)
    two = staffing_plan([DAY], {"surfacing": 12.0}, costs=COSTS, shifts_per_day=2)
    assert two.days[0].stations[0].staff_per_shift < one.days[0].stations[0].staff_per_shift
    assert one.cost_optimal_service_level == pytest.approx(0.75)


def test_minutes_per_order_mixes_lens_types() -> None:
    minutes = minutes_per_order(
        {"surfacing": {"progressive": 10.0, "single_vision": 2.0}, "edging": {"progressive": 4.0}},
        {"progressive": 1.0, "single_vision": 3.0},
    )
    assert minutes == {"surfacing": pytest.approx(4.0), "edging": pytest.approx(1.0)}


def test_service_level_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        staffing_plan([DAY], {"edging": 6.0}, costs=COSTS, service_level=1.0)
