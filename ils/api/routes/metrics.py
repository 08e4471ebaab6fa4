"""The metrics API (`/api/metrics/...`): dashboard, KPIs, cost, revenue and the cost model."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.station import Station

router = APIRouter(prefix="/api/metrics", tags=["metrics"])

RangeName = Literal["last7days", "last30days", "last90days", "this_month"]
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Product = Annotated[str, Field(pattern=r"^[a-z_]+/[a-z0-9.]+$", max_length=60)]


class PriceIn(BaseModel):
    """A price for a product (``<lens type>/<material>``), for one practice or the whole lab."""

    model_config = ConfigDict(extra="forbid")
    product: Product
    price: Money
    practice_id: UUID | None = None


class CostModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    labour_rate_per_hour: dict[Station, Money]
    blank_cost: dict[Product, Money]
    overhead_per_day: Money
    prices: list[PriceIn] = Field(default_factory=list, max_length=5000)


@router.get("/dashboard")
async def dashboard(
    principal: CurrentPrincipal, runtime: RuntimeDep, range: RangeName = "last7days"
) -> Any:
    """Counts and ratios of the period from the rollups, beside the period before it."""
    return jsonable_encoder(await runtime.metrics.dashboard(principal, range))


@router.get("/production-kpis")
async def production_kpis(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    range: RangeName | None = None,
    first: From = None,
    last: To = None,
) -> Any:
    """First-pass yield, breakage, remakes, non-adapts, on-time, cycle time, WIP, throughput."""
    return jsonable_encoder(await runtime.metrics.production_kpis(principal, range, first, last))


@router.get("/cost-analysis")
async def cost_analysis(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    range: RangeName | None = None,
    first: From = None,
    last: To = None,
) -> Any:
    """Cost, revenue and margin of the orders shipped in the period, in total and per order."""
    body = await runtime.metrics.cost_analysis(principal, range, first, last)
    return jsonable_encoder(body)


@router.get("/cost-analysis/orders")
async def cost_lines(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    range: RangeName | None = None,
    first: From = None,
    last: To = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Per-order cost lines of the period, costliest first (reads every order of the period)."""
    body = await runtime.metrics.cost_lines(principal, range, first, last, limit)
    return jsonable_encoder(body)


@router.get("/revenue")
async def revenue(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    range: RangeName | None = None,
    first: From = None,
    last: To = None,
) -> Any:
    """Revenue of the orders shipped in the period, by practice and by product."""
    return jsonable_encoder(await runtime.metrics.revenue(principal, range, first, last))


@router.get("/cost-model")
async def cost_model(principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    return jsonable_encoder(await runtime.metrics.cost_model(principal))


@router.put("/cost-model")
async def put_cost_model(
    body: CostModelIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Any:
    """Set the lab's labour rates, blank costs, overhead and price lists (lab admin)."""
    data = body.model_dump(mode="json")
    for price, given in zip(data["prices"], body.prices, strict=True):
        price["price"] = given.price
    data["overhead_per_day"] = body.overhead_per_day
    return jsonable_encoder(await runtime.metrics.put_cost_model(principal, data, runtime.clock()))
