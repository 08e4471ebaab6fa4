"""The lens catalog of a lab: bulk upsert by SKU and search (API.md "AI dispensing assistant")."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.domain.lens import LensType, Material
from ils.domain.quantity import Millimetres

router = APIRouter(prefix="/api/catalog", tags=["catalog"])

#: A batch stays well under the 1 MiB body limit (about 250 bytes a product); larger catalogs
#: are sent in several batches, each all or nothing.
MAX_PRODUCTS = 2_000
#: Printable text: no control characters (PostgreSQL text cannot even hold NUL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str = Field(pattern=r"^\d{1,9}(\.\d{1,4})?$", examples=["129.00"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    lens_type: LensType
    material: Material
    design: str = Field(default="", max_length=120, pattern=PRINTABLE)
    coatings: list[Annotated[str, Field(min_length=1, max_length=40, pattern=PRINTABLE)]] = Field(
        default_factory=list, max_length=10
    )
    price: PriceIn
    in_stock: bool
    min_fitting_height: Millimetres | None = Field(default=None, ge=8.0, le=40.0)


class CatalogIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    products: list[ProductIn] = Field(min_length=1, max_length=MAX_PRODUCTS)


@router.put("/products")
async def upsert_products(
    body: CatalogIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Insert or replace products by SKU in the caller's lab catalog; all or nothing."""
    raws = [p.model_dump(mode="json") for p in body.products]
    return await runtime.dispensing.upsert_products(principal, raws, runtime.clock())


@router.get("/products")
async def list_products(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    query: Annotated[str, Query(max_length=200, pattern=PRINTABLE)] = "",
    lab_id: Annotated[
        UUID | None, Query(description="a practice: which linked lab's catalog")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
) -> dict[str, Any]:
    """Products matching every word of ``query`` (SKU, name, design, material, type, coatings),
    cheapest first, a page at a time. A practice reads the catalog of a lab it is linked to."""
    return await runtime.dispensing.list_products(
        principal, str(lab_id) if lab_id else None, query, limit, cursor
    )
