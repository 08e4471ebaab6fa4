"""Staffing recommendations from the demand forecast.

Per day: the order volume at the stated service level (an upper quantile of the forecast
distribution) times the labour minutes an order needs at each station (measured by the station
actors per lens type, mixed by the lab's lens mix) gives labour minutes per station; divided by the
productive minutes of one person's shift it gives staff per station per shift. Each plan states
its achieved service level and the expected cost of over-staffing (idle paid hours) and of
under-staffing (work hours short, to be bought as overtime or paid for as late jobs), both
integrated over the forecast distribution.

The forecast distribution of a day is read from its median and its 80% and 95% bounds: the
quantile function is interpolated linearly in standard-normal score between those five points and
extended beyond them with the outer slopes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.stats import norm

from ils.analytics.forecast.selection import ForecastDay
from ils.errors import FieldIssue, ValidationFailed

_Z80, _Z95 = float(norm.ppf(0.9)), float(norm.ppf(0.975))
_GRID = (np.arange(400) + 0.5) / 400.0


@dataclass(frozen=True)
class StaffingCosts:
    """Cost of one paid idle staff hour and of one labour hour short."""

    idle_staff_hour: float
    short_labour_hour: float

    @property
    def cost_optimal_service_level(self) -> float:
        """The newsvendor critical ratio: the quantile to staff for when only cost counts."""
        total = self.idle_staff_hour + self.short_labour_hour
        return self.short_labour_hour / total if total > 0 else 0.5


@dataclass(frozen=True)
class StationStaffing:
    station: str
    labour_minutes: float
    staff_per_shift: int
    achieved_service_level: float
    expected_idle_hours: float
    expected_short_hours: float
    over_staffing_cost: float
    under_staffing_cost: float


@dataclass(frozen=True)
class StaffingDay:
    date: date
    orders: float
    orders_at_service_level: float
    stations: tuple[StationStaffing, ...]


@dataclass(frozen=True)
class StaffingPlan:
    service_level: float
    cost_optimal_service_level: float
    shift_hours: float
    shifts_per_day: int
    productive_share: float
    days: tuple[StaffingDay, ...]


def minutes_per_order(
    service_minutes: Mapping[str, Mapping[str, float]], lens_mix: Mapping[str, float]
) -> dict[str, float]:
    """Labour minutes per incoming order at each station, mixed over lens types.

    ``service_minutes[station][lens_type]`` is the measured minutes per order of that type
    (0 or absent when that type skips the station); ``lens_mix`` the share of each type.
    """
    total = sum(lens_mix.values())
    if total <= 0:
        return dict.fromkeys(service_minutes, 0.0)
    return {
        station: sum(by_type.get(t, 0.0) * share / total for t, share in lens_mix.items())
        for station, by_type in service_minutes.items()
    }


def order_quantile(day: ForecastDay, probability: np.ndarray) -> np.ndarray:
    """Orders at each ``probability`` for one forecast day (never negative)."""
    z = norm.ppf(np.clip(probability, 1e-6, 1 - 1e-6))
    knots_z = np.array([-_Z95, -_Z80, 0.0, _Z80, _Z95])
    knots_q = np.maximum.accumulate(
        [day.lower_95, day.lower_80, day.orders, day.upper_80, day.upper_95]
    )
    inside = np.interp(z, knots_z, knots_q)
    low_slope = (knots_q[1] - knots_q[0]) / (knots_z[1] - knots_z[0])
    high_slope = (knots_q[4] - knots_q[3]) / (knots_z[4] - knots_z[3])
    below = knots_q[0] + low_slope * (z - knots_z[0])
    above = knots_q[4] + high_slope * (z - knots_z[4])
    q = np.where(z < knots_z[0], below, np.where(z > knots_z[4], above, inside))
    return np.asarray(np.maximum(q, 0.0))


def staffing_plan(
    forecast_days: Sequence[ForecastDay],
    service_minutes_per_order_by_station: Mapping[str, float],
    *,
    costs: StaffingCosts,
    shift_hours: float = 8.0,
    shifts_per_day: int = 1,
    service_level: float = 0.9,
    productive_share: float = 0.85,
) -> StaffingPlan:
    """Staff per station per shift for each day, sized on the ``service_level`` quantile."""
    if not 0.5 <= service_level < 1.0:
        raise ValidationFailed(
            [FieldIssue("/service_level", "service-level-invalid", "must be in [0.5, 1)")]
        )
    shift_minutes = shift_hours * 60.0 * productive_share
    days = tuple(
        _plan_day(day, service_minutes_per_order_by_station, costs, service_level,
                  shift_minutes, shifts_per_day)
        for day in forecast_days
    )  # fmt: skip
    return StaffingPlan(
        service_level, costs.cost_optimal_service_level, shift_hours, shifts_per_day,
        productive_share, days,
    )  # fmt: skip


def _plan_day(
    day: ForecastDay,
    minutes: Mapping[str, float],
    costs: StaffingCosts,
    service_level: float,
    shift_minutes: float,
    shifts: int,
) -> StaffingDay:
    sized_orders = float(order_quantile(day, np.array([service_level]))[0])
    orders_grid = order_quantile(day, _GRID)
    stations = tuple(
        _plan_station(station, per_order, sized_orders, orders_grid, costs, shift_minutes, shifts)
        for station, per_order in minutes.items()
    )
    return StaffingDay(day.date, day.orders, sized_orders, stations)


def _plan_station(
    station: str,
    per_order: float,
    sized_orders: float,
    orders_grid: np.ndarray,
    costs: StaffingCosts,
    shift_minutes: float,
    shifts: int,
) -> StationStaffing:
    labour = sized_orders * per_order
    staff = math.ceil(labour / shifts / shift_minutes - 1e-9) if labour > 0 else 0
    capacity = staff * shifts * shift_minutes
    demand = orders_grid * per_order
    idle_hours = float(np.mean(np.maximum(capacity - demand, 0.0))) / 60.0
    short_hours = float(np.mean(np.maximum(demand - capacity, 0.0))) / 60.0
    return StationStaffing(
        station=station,
        labour_minutes=labour,
        staff_per_shift=staff,
        achieved_service_level=float(np.mean(demand <= capacity + 1e-9)),
        expected_idle_hours=idle_hours,
        expected_short_hours=short_hours,
        over_staffing_cost=idle_hours * costs.idle_staff_hour,
        under_staffing_cost=short_hours * costs.short_labour_hour,
    )
