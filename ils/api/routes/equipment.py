"""Equipment registry, its events, telemetry ingest and the 48-hour failure risk (API.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ils.analytics.anomaly.lab import DEFAULT_METRICS
from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.station import Station

router = APIRouter(tags=["equipment"])

EquipmentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
MetricName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
MAX_READINGS = 5000


class EquipmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: EquipmentId
    station: Station
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    metrics: Annotated[list[MetricName], Field(min_length=1, max_length=20)] = Field(
        default_factory=lambda: list(DEFAULT_METRICS)
    )

    @field_validator("metrics")
    @classmethod
    def unique(cls, metrics: list[str]) -> list[str]:
        if len(set(metrics)) != len(metrics):
            raise ValueError("metrics must be unique")
        return metrics


class EquipmentEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["failure", "maintenance", "repair"]
    at: AwareDatetime


class ReadingIn(BaseModel):
    """One reading. Values may be any number: NaN or infinity get a verdict, not a 422."""

    model_config = ConfigDict(extra="forbid")
    equipment_id: Annotated[str, StringConstraints(max_length=64)]
    at: AwareDatetime
    metrics: Annotated[dict[MetricName, float], Field(min_length=1, max_length=20)]


class TelemetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=MAX_READINGS)]


@router.post("/api/telemetry")
async def ingest(
    body: TelemetryIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Store a batch of readings; one verdict per reading (accepted, rejected or quarantined)."""
    readings = [r.model_dump() for r in body.readings]
    return await runtime.anomaly.ingest(principal, readings, runtime.clock())


@router.post("/api/equipment", status_code=201)
async def register(
    body: EquipmentIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Register a machine of the lab (id, station, kind, the metrics it reports)."""
    return await runtime.anomaly.register(principal, body.model_dump(mode="json"), runtime.clock())


@router.get("/api/equipment")
async def list_equipment(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The lab's machines."""
    return await runtime.anomaly.list_equipment(principal)


@router.post("/api/equipment/failure-model/train", status_code=202)
async def train(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Start training the lab's failure model on its own history (answers at once)."""
    return await runtime.anomaly.train(principal, runtime.clock())


@router.post("/api/equipment/{equipment_id}/events", status_code=201)
async def record_event(
    equipment_id: Annotated[str, Path(max_length=64)],
    body: EquipmentEventIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """A failure, maintenance or repair of a machine; a failure says whether it was forewarned."""
    return await runtime.anomaly.record_event(
        principal, equipment_id, body.type, body.at, runtime.clock()
    )


@router.get("/api/equipment/{equipment_id}/failure-risk")
async def failure_risk(
    equipment_id: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Probability of failure within 48 hours, from the lab's own model (or why there is none)."""
    return await runtime.anomaly.failure_risk(principal, equipment_id, runtime.clock())
