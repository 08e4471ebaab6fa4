"""Bottlenecks and the digital twin: ``GET /api/bottlenecks``, ``GET
/api/bottlenecks/recommendations``, ``GET /api/lab/utilization`` and ``POST
/api/workflow/optimize``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ils.analytics.bottleneck import WhatIf
from ils.api.deps import CurrentPrincipal, RuntimeDep

router = APIRouter(tags=["bottlenecks"])

Range = Literal["last1h", "last8h", "last24h", "last7days"]
StationCounts = Annotated[dict[str, int], Field(max_length=20)]


class WhatIfIn(BaseModel):
    """A what-if on the digital twin started from the live line: station -> staff, machines,
    service-time factor; the arrival rate; the horizon and the number of paired replications."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    staff: StationCounts = Field(default_factory=dict)
    machines: StationCounts = Field(default_factory=dict)
    service_factor: Annotated[dict[str, float], Field(max_length=20)] = Field(default_factory=dict)
    arrival_rate_per_min: float | None = None
    horizon_min: float = 480.0
    replications: int = 10
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


@router.get("/api/bottlenecks")
async def current(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The current constraint(s): station, since, confidence, evidence; the predicted next."""
    return await runtime.bottlenecks.current(principal)


@router.get("/api/bottlenecks/recommendations")
async def recommendations(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Moves of cross-trained staff, the expected cycle-time change (twin-checked, 95% CI) and
    utilisation."""
    return await runtime.bottlenecks.recommendations(principal)


@router.get("/api/lab/utilization")
async def utilization(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    span: Annotated[Range, Query(alias="range")] = "last8h",
) -> dict[str, Any]:
    """Utilisation per station and lab-wide over time, from the stored station samples."""
    return await runtime.bottlenecks.utilization(principal, span)


@router.post("/api/workflow/optimize")
async def optimize(
    body: WhatIfIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """A what-if on the digital twin (lab admin): paired replications of the live line and the
    changed one. Changes nothing live."""
    request = WhatIf(
        staff=body.staff,
        machines=body.machines,
        service_factor=body.service_factor,
        arrival_rate=body.arrival_rate_per_min,
        horizon_min=body.horizon_min,
        replications=body.replications,
    )
    return await runtime.bottlenecks.what_if(principal, request, body.seed)
