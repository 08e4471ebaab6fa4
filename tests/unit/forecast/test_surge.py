from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from ils.analytics.forecast.history import DailySeries
from ils.analytics.forecast.selection import ForecastDay
from ils.analytics.surge import surge_periods

WEEK = [100.0, 100.0, 100.0, 100.0, 100.0, 40.0, 5.0]
START = date(2026, 1, 5)  # a Monday


def _history(weeks: int = 8) -> DailySeries:
    values = np.array(WEEK * weeks)
    return DailySeries(START, values, np.zeros(len(values), dtype=bool))


def _forecast(values: list[float]) -> list[ForecastDay]:
    first = START + timedelta(days=56)
    return [
        ForecastDay(first + timedelta(days=i), v, v * 0.9, v * 1.1, v * 0.8, v * 1.2)
        for i, v in enumerate(values)
    ]


def test_the_weekday_pattern_alone_is_no_surge() -> None:
    assert surge_periods(_forecast(WEEK * 2), _history()) == []


def test_a_run_above_the_baseline_is_one_surge_with_its_peak_and_binding_station() -> None:
    values = WEEK * 2
    values[8:11] = [130.0, 160.0, 125.0]
    periods = surge_periods(
        _forecast(values),
        _history(),
        threshold=0.15,
        minutes_per_order={"edging": 6.0, "surfacing": 10.0},
        capacity_minutes_per_day={"edging": 1200.0, "surfacing": 2400.0},
    )
    assert len(periods) == 1
    surge = periods[0]
    assert surge.days == 3 and surge.start == START + timedelta(days=64)
    assert surge.peak_orders == 160.0 and round(surge.peak_excess_pct) == 60
    assert surge.extra_orders == 115.0
    assert [b.station for b in surge.binding_stations] == ["edging", "surfacing"]
    assert surge.binding_stations[0].utilisation_at_peak == 160.0 * 1.1 * 6.0 / 1200.0
