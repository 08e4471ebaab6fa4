"""Staffing recommendations and surge periods: the forecast turned into labour per station.

Labour minutes per order at each station = the minutes a job of each lens type takes there (the
lab's stored ``station_labour_minutes`` settings, else the DOMAIN.md defaults of
``ils.domain.labour``; measured station service times replace both once the station actors publish
them) mixed by the lab's lens mix over the last ``MIX_DAYS`` days of orders. AR coating and
tinting count only the share of jobs with those coatings. Every answer names its sources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, timedelta
from typing import Any

from ils.analytics.staffing import StaffingCosts, minutes_per_order, staffing_plan
from ils.analytics.surge import surge_periods
from ils.db import forecast as store
from ils.domain.access import Permission, Principal
from ils.domain.labour import COATING_STATIONS, LENS_TYPES, station_minutes
from ils.services.forecasting import Forecasting, model_view, require_lab

MIX_DAYS = 90


@dataclass(frozen=True)
class StaffingRequest:
    days: int = 7
    service_level: float = 0.9
    shifts_per_day: int = 1
    shift_hours: float = 8.0
    idle_hour_cost: float = 30.0
    short_hour_cost: float = 45.0


@dataclass(frozen=True)
class LabourModel:
    minutes_per_order: dict[str, float]
    sources: dict[str, Any]


def mix_from_counts(counts: list[store.LensTypeCount]) -> tuple[dict[str, float], dict[str, Any]]:
    """Lens mix and coating shares per lens type from order counts; stated assumptions if none."""
    total = sum(c.orders for c in counts)
    if total == 0:
        mix = dict.fromkeys(LENS_TYPES, 1.0 / len(LENS_TYPES))
        shares = {t: {"ar": 1.0, "tint": 1.0} for t in LENS_TYPES}
        basis = (
            "no orders in the last 90 days: equal shares of the four lens types, and AR coating "
            "and tinting sized as if every job visited them (an upper bound)"
        )
        return mix, {"mix": mix, "coating_share": shares, "orders": 0, "basis": basis}
    mix = {c.lens_type: c.orders / total for c in counts}
    shares = {c.lens_type: {"ar": c.ar / c.orders, "tint": c.tint / c.orders} for c in counts}
    basis = f"the lab's {total} orders of the last {MIX_DAYS} days"
    return mix, {"mix": mix, "coating_share": shares, "orders": total, "basis": basis}


def labour_model(
    counts: list[store.LensTypeCount], overrides: dict[str, dict[str, float]]
) -> LabourModel:
    mix, mix_source = mix_from_counts(counts)
    shares = mix_source["coating_share"]
    minutes, service_sources = station_minutes(sorted(mix), overrides)
    for station, coating in COATING_STATIONS.items():
        by_type = minutes[station.value]
        for lens_type in by_type:
            by_type[lens_type] *= shares[lens_type][coating]
    per_order = minutes_per_order(minutes, mix)
    return LabourModel(per_order, {"service_times": service_sources, "lens_mix": mix_source})


class Labour:
    def __init__(self, forecasting: Forecasting) -> None:
        self.forecasting = forecasting

    async def _labour(self, lab_id: str) -> LabourModel:
        since = self.forecasting.clock().astimezone(UTC) - timedelta(days=MIX_DAYS)
        async with self.forecasting.db.connection() as conn:
            counts = await store.lens_mix(conn, lab_id, since)
            found = await store.tenant_settings(conn, lab_id)
        overrides = (found[1] if found else {}).get("station_labour_minutes") or {}
        return labour_model(counts, overrides)

    async def staffing(self, principal: Principal, request: StaffingRequest) -> dict[str, Any]:
        """Staff per station per shift for each forecast day, sized on an upper quantile."""
        require_lab(principal, Permission.ANALYTICS_READ)
        served, history, days = await self.forecasting.forecast_days(principal, request.days)
        labour = await self._labour(principal.tenant_id)
        costs = StaffingCosts(request.idle_hour_cost, request.short_hour_cost)
        plan = staffing_plan(
            days,
            labour.minutes_per_order,
            costs=costs,
            shift_hours=request.shift_hours,
            shifts_per_day=request.shifts_per_day,
            service_level=request.service_level,
        )
        return {
            "model": model_view(served),
            "generated_at": self.forecasting.clock(),
            "history": history.view(),
            "costs": {**asdict(costs), "currency_per": "hour"},
            "labour_minutes_per_order": labour.minutes_per_order,
            "sources": labour.sources,
            **asdict(plan),
        }

    async def surges(self, principal: Principal, days: int, threshold: float) -> dict[str, Any]:
        """Runs of forecast days above the recent weekday baseline by more than ``threshold``."""
        require_lab(principal, Permission.ANALYTICS_READ)
        served, history, forecast_days = await self.forecasting.forecast_days(principal, days)
        labour = await self._labour(principal.tenant_id)
        periods = surge_periods(
            forecast_days,
            served.fitted.fit.history,
            threshold=threshold,
            minutes_per_order=labour.minutes_per_order,
        )
        return {
            "model": model_view(served),
            "generated_at": self.forecasting.clock(),
            "history": history.view(),
            "threshold": threshold,
            "baseline": "mean of the same weekday over the last 8 weeks of history",
            "binding_rule": (
                "stations ranked by labour minutes needed at the peak's upper 80% bound "
                "(staffed capacity is not known to the forecast)"
            ),
            "sources": labour.sources,
            "forecast_days": len(forecast_days),
            "periods": [asdict(p) for p in periods],
        }
