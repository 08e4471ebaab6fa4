"""The lab's LIMS connection: ``GET``/``PUT /api/lab/lims`` (the key is never shown)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep

router = APIRouter(prefix="/api/lab/lims", tags=["lims"])


class LimsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: AnyHttpUrl
    api_key: str = Field(min_length=8, max_length=500)


@router.get("")
async def show(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The LIMS base URL, the relay's circuit breaker for it and the lab's outbox depth."""
    return await runtime.lims.show(principal, runtime.clock())


@router.put("")
async def configure(
    body: LimsIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Set the lab's LIMS (lab admin). The key is sealed at rest; the breaker starts closed."""
    return await runtime.lims.configure(
        principal, str(body.base_url).rstrip("/"), body.api_key, runtime.clock()
    )
