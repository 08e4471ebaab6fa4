"""Anomaly alerts: list, acknowledge, resolve (API.md "Equipment, anomalies")."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from ils.api.deps import CurrentPrincipal, RuntimeDep

router = APIRouter(prefix="/api/anomalies/alerts", tags=["anomalies"])


@router.get("")
async def list_alerts(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    kind: Literal["quality", "equipment", "process", "volume"] | None = None,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The lab's alerts, newest first, a page at a time."""
    return await runtime.anomaly.alerts(
        principal, kind=kind, status=status, since=since, cursor=cursor, limit=limit
    )


@router.post("/{alert_id}/ack")
async def acknowledge(
    alert_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Someone is on it: the alert stays live and keeps absorbing findings."""
    return await runtime.anomaly.transition(
        principal, str(alert_id), "acknowledged", runtime.clock()
    )


@router.post("/{alert_id}/resolve")
async def resolve(
    alert_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Done: the next finding about the same subject opens a new alert."""
    return await runtime.anomaly.transition(principal, str(alert_id), "resolved", runtime.clock())
