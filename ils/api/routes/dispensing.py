"""The AI dispensing assistant: Rx + clinical notes + catalog + lab history -> Good/Better/Best."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.lens import Frame, FrameType
from ils.domain.quantity import Millimetres
from ils.domain.rx import Rx

router = APIRouter(prefix="/api/ai", tags=["dispensing"])


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    age: Annotated[int, Field(strict=True, ge=0, le=129)] | None = None
    occupation: str | None = Field(default=None, max_length=200)


class FrameIn(BaseModel):
    """The frame, as far as it is known when dispensing (type and boxing measurements)."""

    model_config = ConfigDict(extra="forbid")
    type: FrameType | None = None
    a: Millimetres | None = None
    b: Millimetres | None = None
    dbl: Millimetres | None = None
    ed: Millimetres | None = None


class DispensingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lab_id: UUID | None = Field(
        default=None, description="a practice: which linked lab (optional with one linked lab)"
    )
    rx: Rx
    clinical_notes: str = Field(default="", description="free text, at most 10,000 characters")
    patient: PatientIn | None = None
    frame: FrameIn | None = None


@router.post("/dispensing-recommendations")
async def dispensing_recommendations(
    body: DispensingIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Intents from the notes (negated ones never drive a choice) and three distinct lenses that
    meet every clinical constraint, each with reasons; with no fitting product, the clinically
    recommended configuration with ``product_id`` null."""
    frame = body.frame
    domain_frame = (
        Frame(
            type=frame.type or FrameType.FULL_RIM, a=frame.a, b=frame.b, dbl=frame.dbl, ed=frame.ed
        )
        if frame
        else None
    )
    return await runtime.dispensing.recommend(
        principal,
        str(body.lab_id) if body.lab_id else None,
        body.rx,
        domain_frame,
        body.model_dump(mode="json", exclude={"lab_id"}),
    )
