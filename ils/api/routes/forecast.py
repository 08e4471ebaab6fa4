"""Demand forecasting: history import, settings, forecast, patterns, staffing, surges, metrics.

Every answer states the data it used: the model (and whether it is the selected fit, a cached fit
being refitted, or a provisional seasonal-naive answer while the selection runs), the history
(length, imported and live days, country) and when it was generated.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.access import Permission
from ils.domain.labour import LENS_TYPES
from ils.domain.station import Station
from ils.services.forecasting import model_view, require_lab
from ils.services.labour import StaffingRequest

router = APIRouter(prefix="/api/ai", tags=["demand forecasting"])

MAX_IMPORT_DAYS = 20 * 366
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
Minutes = Annotated[float, Field(gt=0, le=600)]
LensType = Annotated[str, Field(pattern="^(" + "|".join(LENS_TYPES) + ")$")]


class HistoryDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    orders: int = Field(ge=0, le=1_000_000, description="orders the lab received that day")


class DemandHistoryIn(BaseModel):
    """The lab's daily order counts from its previous system; replaces any earlier import."""

    model_config = ConfigDict(extra="forbid")
    days: list[HistoryDayIn] = Field(min_length=1, max_length=MAX_IMPORT_DAYS)
    country: Country | None = None


class ForecastSettingsIn(BaseModel):
    """The country whose public holidays shape demand, and the lab's own labour minutes per job."""

    model_config = ConfigDict(extra="forbid")
    country: Country | None = None
    station_labour_minutes: dict[Station, dict[LensType, Minutes]] | None = None


def _json(body: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe: a figure that is not finite is reported as null, never as NaN."""
    encoded: dict[str, Any] = _finite(jsonable_encoder(body))
    return encoded


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@router.put("/demand-history")
async def import_history(
    body: DemandHistoryIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Replace the lab's imported daily history (lab admin or engineer); live orders add to it."""
    days = [(d.date, d.orders) for d in body.days]
    return _json(await runtime.forecasting.import_history(principal, days, body.country))


@router.get("/forecast-settings")
async def get_settings(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    return _json(await runtime.forecasting.settings(principal))


@router.put("/forecast-settings")
async def put_settings(
    body: ForecastSettingsIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Set the lab's country and/or its labour minutes per station and lens type."""
    changes = body.model_dump(mode="json", exclude_none=True)
    return _json(await runtime.forecasting.update_settings(principal, changes))


@router.get("/demand-forecast")
async def demand_forecast(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=30)] = 14,
) -> dict[str, Any]:
    """Daily orders from the day after the last complete day of history, with 80%/95% bounds."""
    served, history, forecast_days = await runtime.forecasting.forecast_days(principal, days)
    return _json(
        {
            "model": model_view(served),
            "generated_at": runtime.clock(),
            "history": history.view(),
            "days": [
                {
                    "date": d.date,
                    "orders": round(d.orders, 1),
                    "lower_80": round(d.lower_80, 1),
                    "upper_80": round(d.upper_80, 1),
                    "lower_95": round(d.lower_95, 1),
                    "upper_95": round(d.upper_95, 1),
                }
                for d in forecast_days
            ],
        }
    )


@router.post("/demand-forecast/refit", status_code=202)
async def refit(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Reselect the model on the current history now (in the background)."""
    require_lab(principal, Permission.FORECAST_MANAGE)
    served = await runtime.forecasting.model(principal, reselect=True)
    return _json({"model": model_view(served), "generated_at": runtime.clock()})


@router.get("/seasonal-patterns")
async def seasonal_patterns(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Weekday and yearly profiles (factors around 1) and holiday effects, with 95% intervals."""
    return _json(await runtime.forecasting.patterns(principal))


@router.get("/staffing-recommendations")
async def staffing_recommendations(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=30)] = 7,
    service_level: Annotated[float, Query(ge=0.5, lt=1.0)] = 0.9,
    shifts_per_day: Annotated[int, Query(ge=1, le=3)] = 1,
    shift_hours: Annotated[float, Query(gt=0, le=12)] = 8.0,
    idle_hour_cost: Annotated[float, Query(ge=0, le=10_000)] = 30.0,
    short_hour_cost: Annotated[float, Query(ge=0, le=10_000)] = 45.0,
) -> dict[str, Any]:
    """Staff per station per shift, sized on the forecast's ``service_level`` quantile."""
    request = StaffingRequest(
        days, service_level, shifts_per_day, shift_hours, idle_hour_cost, short_hour_cost
    )
    return _json(await runtime.labour.staffing(principal, request))


@router.get("/surge-periods")
async def surge_periods(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=30)] = 30,
    threshold: Annotated[float, Query(gt=0, le=5)] = 0.15,
) -> dict[str, Any]:
    """Runs of days forecast above the recent weekday baseline by more than ``threshold``."""
    return _json(await runtime.labour.surges(principal, days, threshold))


@router.get("/forecast-metrics")
async def forecast_metrics(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Rolling-origin backtest on the lab's own history: MASE, WAPE, sMAPE, bias, coverage."""
    return _json(await runtime.forecasting.metrics(principal))
