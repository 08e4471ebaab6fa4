"""Orders: validate, create, read, list, transitions, timeline, returns, non-adapts, remakes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.access import Permission
from ils.domain.order import OrderDraft
from ils.domain.order_status import OrderStatus
from ils.domain.station import Station
from ils.services.orders import require_practice

router = APIRouter(prefix="/api/orders", tags=["orders"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: OrderStatus
    reason: str | None = Field(default=None, max_length=500)


class IssueIn(BaseModel):
    """A return or a non-adapt; ``remake`` also creates the linked remake order."""

    model_config = ConfigDict(extra="forbid")
    category: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500)
    symptoms: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    notes: str | None = Field(default=None, max_length=4000)
    remake: bool = True


class NonAdaptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
    symptoms: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    notes: str | None = Field(default=None, max_length=4000)
    remake: bool = True


class RemakeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500)


@router.post("/validate")
async def validate(
    draft: OrderDraft, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Check an order without storing anything: errors refuse it, warnings are advice."""
    principal.require(Permission.ORDERS_CREATE)
    return runtime.orders.validate(draft).as_dict()


@router.post("", status_code=201)
async def create(
    draft: OrderDraft,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Place an order with a linked lab. A repeated Idempotency-Key returns the first answer."""
    principal.require(Permission.ORDERS_CREATE)
    require_practice(principal)
    status, body = await runtime.orders.create(principal, draft, runtime.clock(), idempotency_key)
    return JSONResponse(_jsonable(body), status_code=status)


@router.get("")
async def list_orders(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    status: OrderStatus | None = None,
    station: Station | None = None,
    practice_id: UUID | None = None,
    updated_since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The orders the caller's tenant may see, newest first, a page at a time."""
    return await runtime.orders.list_orders(
        principal,
        status=status,
        station=station,
        practice_id=str(practice_id) if practice_id else None,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{order_id}")
async def get_order(
    order_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    return await runtime.orders.get(principal, str(order_id))


@router.get("/{order_id}/timeline")
async def timeline(
    order_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Every event of the order in the caller's log, oldest first, each with its ``seq``."""
    return {"items": await runtime.orders.timeline(principal, str(order_id))}


@router.post("/{order_id}/transitions")
async def move(
    order_id: UUID, body: TransitionIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Move the order to another status; 409 names the statuses allowed from here."""
    return await runtime.orders.transition(
        principal, str(order_id), body.to, body.reason, runtime.clock()
    )


@router.post("/{order_id}/returns", status_code=201)
async def file_return(
    order_id: UUID, body: IssueIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """A return of a delivered order (lab error, practice change, warranty), with its remake."""
    return _jsonable(
        await runtime.remakes.file(
            principal,
            str(order_id),
            "return",
            body.category,
            body.reason,
            body.symptoms,
            body.notes,
            body.remake,
            runtime.clock(),
        )
    )


@router.post("/{order_id}/non-adapts", status_code=201)
async def file_non_adapt(
    order_id: UUID, body: NonAdaptIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """A patient who cannot adapt to correctly made lenses; the remake is a new linked order."""
    return _jsonable(
        await runtime.remakes.file(
            principal,
            str(order_id),
            "non_adapt",
            "non_adapt",
            body.reason,
            body.symptoms,
            body.notes,
            body.remake,
            runtime.clock(),
        )
    )


@router.post("/{order_id}/remake", status_code=201)
async def remake(
    order_id: UUID, body: RemakeIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """Remake a delivered order; the original stays as it is."""
    return _jsonable(
        await runtime.remakes.remake(
            principal, str(order_id), body.category, body.reason, runtime.clock()
        )
    )


def _jsonable(body: dict[str, Any]) -> Any:
    return jsonable_encoder(body)
