"""Analytics time series from the rollups (``/api/analytics/series``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from ils.analytics.rollup import METRICS
from ils.api.deps import CurrentPrincipal, RuntimeDep

router = APIRouter(prefix="/api/analytics", tags=["metrics"])

Metric = Literal[METRICS]  # type: ignore[valid-type]


@router.get("/series")
async def series(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    metric: Metric,
    granularity: Literal["day", "week", "month"] = "day",
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Any:
    """One metric per bucket, zero-filled, from the tenant's incremental rollups."""
    body = await runtime.metrics.series(principal, str(metric), granularity, first, last)
    return jsonable_encoder(body)
