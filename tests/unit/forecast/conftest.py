"""Shared synthetic histories: the lab simulator's series have a known weekday profile and US
public holidays, so a model can be checked against the truth."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ils.analytics.forecast.selection import ForecastFit, fit_and_select
from ils.sim.demand import daily_order_history

START = date(2023, 1, 2)


@pytest.fixture(scope="package")
def lab_history() -> list[tuple[date, int]]:
    return daily_order_history(START, 2 * 365, "US", 300.0, np.random.default_rng(7))


@pytest.fixture(scope="package")
def lab_fit(lab_history: list[tuple[date, int]]) -> ForecastFit:
    return fit_and_select(lab_history, country="US")
