"""Quality: final inspections, QA failures and root-cause analyses (``/api/qc/...``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.rca import RcaCategory, RcaStatus
from ils.domain.station import Station

router = APIRouter(prefix="/api/qc", tags=["quality"])

Text = Annotated[str, Field(min_length=1, max_length=500)]


class MeasuredEye(BaseModel):
    """What the lensmeter read on one finished lens (dioptres, degrees, millimetres)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    sphere: float
    cylinder: float = 0.0
    axis: float | None = None
    add: float | None = None
    seg_height: float | None = None


class PrismImbalanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    vertical: float = 0.0
    horizontal: float = 0.0


class Measured(BaseModel):
    model_config = ConfigDict(extra="forbid")
    od: MeasuredEye | None = None
    os: MeasuredEye | None = None
    prism_imbalance: PrismImbalanceIn | None = None


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: UUID
    measured: Measured


class FailureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text
    order_id: UUID | None = None
    station: Station | None = None
    equipment_id: str | None = Field(default=None, min_length=1, max_length=100)
    details: dict[str, Any] = Field(default_factory=dict)


class RcaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text
    category: RcaCategory
    description: str | None = Field(default=None, max_length=4000)
    failure_ids: list[UUID] = Field(default_factory=list, max_length=200)


class RcaTransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: RcaStatus
    root_cause: str | None = Field(default=None, min_length=1, max_length=4000)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    owner: str | None = Field(default=None, max_length=200)
    due_date: date | None = None


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failure_ids: list[UUID] = Field(min_length=1, max_length=200)


Number = Annotated[float, Field(allow_inf_nan=False)]
Subgroup = Annotated[list[Number], Field(min_length=2, max_length=10)]
Points = Annotated[list[Number] | list[Subgroup], Field(min_length=1, max_length=1000)]


class ControlPointIn(BaseModel):
    """A measured characteristic with its specification limits and chart type."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: Annotated[str, Field(min_length=1, max_length=100)]
    unit: Annotated[str, Field(min_length=1, max_length=20)]
    chart: Literal["imr", "xbar_r"] = "imr"
    subgroup_size: int = Field(default=5, ge=2, le=10)
    station: Station | None = None
    lsl: float | None = None
    usl: float | None = None
    target: float | None = None
    baseline: Points | None = None

    @model_validator(mode="after")
    def _spec_in_order(self) -> ControlPointIn:
        if self.lsl is not None and self.usl is not None and self.lsl >= self.usl:
            raise ValueError("lsl must be below usl")
        return self


class BaselineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baseline: Points


class MeasurementsIn(BaseModel):
    """Values (I-MR) or subgroups (X-bar/R), in the control point's unit."""

    model_config = ConfigDict(extra="forbid")
    values: Points
    unit: str | None = Field(default=None, max_length=20)
    measured_at: AwareDatetime | None = None


Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post("/inspections", status_code=201)
async def inspect(body: InspectionIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    """Judge a finished job against ANSI Z80.1; a failure sends it back to production."""
    measured = body.measured.model_dump(exclude_none=True)
    result = await runtime.quality.inspect(principal, str(body.order_id), measured, runtime.clock())
    return jsonable_encoder(result)


@router.post("/failures", status_code=201)
async def record_failure(body: FailureIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    """A QA failure found outside final inspection, linked to an order, station or machine."""
    data = body.model_dump(mode="json")
    return jsonable_encoder(await runtime.quality.record_failure(principal, data, runtime.clock()))


@router.get("/failures")
async def failures(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    station: Station | None = None,
    order_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    page = await runtime.quality.failures(
        principal, station, str(order_id) if order_id else None, cursor, limit
    )
    return jsonable_encoder(page)


@router.post("/rca", status_code=201)
async def open_rca(body: RcaIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    """Open a root-cause analysis, optionally linking the QA failures it explains."""
    data = body.model_dump(mode="json")
    return jsonable_encoder(await runtime.quality.open_rca(principal, data, runtime.clock()))


@router.get("/rca")
async def rcas(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    status: RcaStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    return jsonable_encoder(await runtime.quality.rcas(principal, status, cursor, limit))


@router.get("/rca/{rca_id}")
async def rca(rca_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    return jsonable_encoder(await runtime.quality.rca(principal, str(rca_id)))


@router.post("/rca/{rca_id}/transitions")
async def move_rca(
    rca_id: UUID, body: RcaTransitionIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """open -> investigating -> corrective_action -> verified -> closed (409 names the allowed)."""
    result = await runtime.quality.move_rca(
        principal, str(rca_id), body.to, body.root_cause, runtime.clock()
    )
    return jsonable_encoder(result)


@router.post("/rca/{rca_id}/actions", status_code=201)
async def add_action(
    rca_id: UUID, body: ActionIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    data = body.model_dump()
    return jsonable_encoder(
        await runtime.quality.add_action(principal, str(rca_id), data, runtime.clock())
    )


@router.post("/rca/{rca_id}/failures")
async def link_failures(
    rca_id: UUID, body: LinkIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    ids = [str(f) for f in body.failure_ids]
    return jsonable_encoder(
        await runtime.quality.link(principal, str(rca_id), ids, runtime.clock())
    )


@router.post("/control-points", status_code=201)
async def create_point(
    body: ControlPointIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """A control point; with a baseline, its control limits are computed at once."""
    data = body.model_dump(mode="json")
    return jsonable_encoder(await runtime.spc.create(principal, data, runtime.clock()))


@router.get("/control-points")
async def points(principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    return jsonable_encoder(await runtime.spc.all_points(principal))


@router.get("/control-points/{point_id}")
async def point(
    point_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, limit: Limit = 100
) -> Any:
    """The control point, its limits and its latest plotted measurements (oldest first)."""
    return jsonable_encoder(await runtime.spc.get(principal, str(point_id), limit))


@router.put("/control-points/{point_id}/baseline")
async def set_baseline(
    point_id: UUID, body: BaselineIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """Recompute the control limits from a new baseline (phase I)."""
    result = await runtime.spc.set_baseline(
        principal, str(point_id), body.model_dump()["baseline"], runtime.clock()
    )
    return jsonable_encoder(result)


@router.post("/control-points/{point_id}/measurements", status_code=201)
async def measure(
    point_id: UUID, body: MeasurementsIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """Record measurements; each Nelson rule they break raises a process alert."""
    data: dict[str, Any] = body.model_dump()
    result = await runtime.spc.measure(principal, str(point_id), data, runtime.clock())
    return jsonable_encoder(result)
