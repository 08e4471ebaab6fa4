"""Short-term prediction of the next constraint from WIP, arrivals and the demand forecast.

Over a horizon H each station must serve the jobs already queued or in process there, the
upstream WIP that will reach it (its visit share of the WIP upstream stations can release
within H) and the new arrivals (forecast rate x visit share x H). Projected load = work x mean
service time / (servers x H); the highest projected load names the predicted constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

from ils.analytics.bottleneck.twin import LineState


@dataclass(frozen=True)
class ConstraintForecast:
    station: str
    horizon_min: float
    projected_load: dict[str, float]


def predict_constraint(
    state: LineState, horizon_min: float, forecast_rate: float | None = None
) -> ConstraintForecast:
    """``forecast_rate``: jobs per minute expected over the horizon (default: current rate)."""
    if horizon_min <= 0:
        raise ValueError("horizon must be positive")
    rate = state.arrival_rate if forecast_rate is None else forecast_rate
    shares = state.visit_shares()
    upstream = 0.0
    load: dict[str, float] = {}
    for name, st in state.stations.items():
        arrivals = shares[name] * rate * horizon_min
        work = st.queue + st.in_process + shares[name] * upstream + arrivals
        capacity = st.servers * horizon_min
        load[name] = work * st.service_mean / capacity if capacity > 0 else float("inf")
        served = min(work, capacity / st.service_mean) if st.service_mean > 0 else work
        upstream = max(served - arrivals, 0.0) + (1.0 - shares[name]) * upstream
    top = max(load, key=lambda n: load[n])
    return ConstraintForecast(top, horizon_min, load)
