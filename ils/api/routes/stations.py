"""The live lab: ``GET /api/lab/stations`` and ``PUT /api/lab/stations/{station}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.station import Station
from ils.services.stations import Resources

router = APIRouter(prefix="/api/lab/stations", tags=["lab"])


class ResourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff: int = Field(ge=0, le=1000)
    machines: int = Field(ge=0, le=1000)
    cross_trained: Annotated[list[Station], Field(max_length=len(Station))] = Field(
        default_factory=list
    )


@router.get("")
async def list_stations(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Per station: queue, in process, resources, throughput, service time, utilisation."""
    return await runtime.stations.list_stations(principal)


@router.put("/{station}")
async def configure(
    station: Station, body: ResourcesIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Set a station's staff, machines and cross-training (lab admin); the lab's resources."""
    resources = Resources(
        body.staff, body.machines, tuple(sorted({str(s) for s in body.cross_trained}))
    )
    return await runtime.stations.configure(principal, station, resources, runtime.clock())
