"""Static-threshold baseline: what a plain alarm limit per sensor would achieve.

Each machine gets fixed high limits per metric at commissioning: mean + k standard deviations of
its hourly means over the first ``commission_h`` hours of readings. An hour whose mean exceeds any
limit is an alarm. The multiplier k is not chosen by hand: it is the smallest one that meets the
same false-alarm budget on the training machines, exactly as the model's threshold is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ils.analytics.failure.features import MachineSeries
from ils.analytics.failure.scoring import MachineAlarms, ScoringWindow, score_alarms

_HOUR = 3600.0


@dataclass(frozen=True)
class HourlyMachine:
    equipment_id: str
    times: np.ndarray
    z: np.ndarray  # (hours, metrics): hourly means in commissioning standard deviations
    failures: tuple[float, ...]
    observed_s: float


def hourly_machine(
    series: MachineSeries, failures: Sequence[float], commission_h: float = 168.0
) -> HourlyMachine:
    frame = pd.DataFrame(series.values, index=pd.to_datetime(series.times, unit="s"))
    hourly = frame.resample("1h").mean().dropna()
    start_s = hourly.index.to_numpy().astype("datetime64[s]").astype(np.int64)
    times = start_s.astype(float) + _HOUR  # the end of each hour
    values = hourly.to_numpy()
    commission = times <= times[0] + commission_h * _HOUR
    mean = values[commission].mean(axis=0)
    sd = np.maximum(values[commission].std(axis=0), 1e-9)
    span = float(series.times.max() - series.times.min())
    return HourlyMachine(series.equipment_id, times, (values - mean) / sd, tuple(failures), span)


def static_alarms(machines: Sequence[HourlyMachine], k: float) -> list[MachineAlarms]:
    return [
        MachineAlarms(
            m.equipment_id, m.times, np.asarray((m.z > k).any(axis=1)), m.failures, m.observed_s
        )
        for m in machines
    ]


def choose_multiplier(
    machines: Sequence[HourlyMachine], budget: float, window: ScoringWindow | None = None
) -> float:
    """The smallest k (searched on a 0.1 grid from 2 to 30) within the false-alarm budget."""
    window = window or ScoringWindow()
    best = 30.0
    for k in np.round(np.arange(30.0, 1.95, -0.1), 1):
        if score_alarms(static_alarms(machines, float(k)), window).false_per_machine_month > budget:
            break
        best = float(k)
    return best
