"""LIMS webhooks: ``POST /api/webhooks/lims/{lab_tenant_id}``, authenticated by its signature.

The body is read as raw bytes (the signature covers exactly them), so the request schema below
documents the body for OpenAPI while the service reads and validates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import RuntimeDep
from ils.domain.lims_event import EVENT_TYPES
from ils.errors import PayloadTooLarge

router = APIRouter(prefix="/api/webhooks", tags=["lims"])

EventType = Literal[
    "job.accepted",
    "job.station_changed",
    "job.breakage",
    "job.inspection",
    "job.on_hold",
    "job.released",
    "job.shipped",
    "job.delivered",
    "job.cancelled",
]
assert set(EventType.__args__) == EVENT_TYPES  # type: ignore[attr-defined]


class WebhookEventIn(BaseModel):
    """One LIMS job event; ``data`` carries ``job_id``, ``order_id``, ``sequence`` and the
    type's fields (``station``, ``status``, ``reason_code``, ``restart_station``, ``shift``,
    ``measured``, ``pass``, ``carrier``, ``tracking_number``)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    type: EventType
    occurred_at: datetime
    data: dict[str, Any]


class EventResultOut(BaseModel):
    id: str
    result: Literal["applied", "duplicate", "late", "problem"]
    duplicate: bool | None = None
    problem: dict[str, Any] | None = None


class BatchResultOut(BaseModel):
    results: list[EventResultOut]


def _request_schema() -> dict[str, Any]:
    event = WebhookEventIn.model_json_schema()
    batch = {
        "type": "object",
        "title": "WebhookBatchIn",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": event, "maxItems": 500}},
    }
    return {
        "required": True,
        "content": {"application/json": {"schema": {"anyOf": [event, batch]}}},
    }


@router.post(
    "/lims/{lab_tenant_id}",
    response_model=EventResultOut | BatchResultOut,
    response_model_exclude_none=True,
    openapi_extra={"requestBody": _request_schema()},
    responses={401: {"description": "bad-signature or stale-signature"}, 413: {}, 422: {}},
)
async def lims_webhook(lab_tenant_id: UUID, request: Request, runtime: RuntimeDep) -> Any:
    """Apply one signed LIMS event, or a batch ``{"events": [...]}`` (one result per event)."""
    limit = runtime.settings.max_body_bytes
    too_large = PayloadTooLarge(f"the body must be at most {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        await runtime.lims_inbound.refuse(str(lab_tenant_id), too_large, runtime.clock())
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await runtime.lims_inbound.refuse(str(lab_tenant_id), too_large, runtime.clock())
        chunks.append(chunk)
    return await runtime.lims_inbound.receive(
        str(lab_tenant_id),
        b"".join(chunks),
        request.headers.get("ils-signature"),
        runtime.clock(),
    )
