"""Self-generated arrivals, for benchmarks only: the demo lab gets its jobs from ILS.

Daily volumes come from the forecasting engineer's demand generator (weekday profile, seasonality,
holidays), and each day's orders arrive at random during practice opening hours.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import numpy as np
import simpy

from ils.sim.demand import daily_order_history
from ils.sim.model import LabModel
from ils.sim.order_mix import synthetic_order

INTAKE_OPEN_H = 8.0
INTAKE_CLOSE_H = 19.0
BLOCK_DAYS = 28


def intake_times(count: int, day_offset_min: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival minutes of one day's orders, uniform over the practices' opening hours."""
    lo, hi = INTAKE_OPEN_H * 60.0, INTAKE_CLOSE_H * 60.0
    return np.sort(day_offset_min + rng.uniform(lo, hi, size=count))


def self_arrivals(
    model: LabModel, per_day: float, rng: np.random.Generator, country: str = "US"
) -> Generator[simpy.Event, Any, None]:
    """A simpy process that submits synthetic orders at the demand generator's daily volumes."""
    start = model.moment(0.0)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    base = -(start - midnight).total_seconds() / 60.0  # model minute of the first midnight
    day = 0
    while True:
        block = daily_order_history(
            midnight.date() + timedelta(days=day), BLOCK_DAYS, country, per_day, rng
        )
        for offset, (_, count) in enumerate(block):
            for at in intake_times(count, base + (day + offset) * 1440.0, rng):
                if at >= model.now:
                    yield model.env.timeout(at - model.now)
                    model.submit(synthetic_order(rng))
        day += BLOCK_DAYS
