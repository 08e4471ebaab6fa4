"""VCA DCS interop: ``POST /api/orders/import`` (text/plain) and ``GET /api/orders/{id}/dcs``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.errors import IlsError

router = APIRouter(prefix="/api/orders", tags=["orders", "dcs"])

DCS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {
                "schema": {"type": "string"},
                "example": "JOB=A-1\r\nDO=B\r\nSPH=-2.25;-2.00\r\nCYL=-0.75;-0.50\r\n"
                "AX=180;175\r\nLTYPE=SV;SV\r\nLIND=1.60;1.60\r\n_PRACTICE=<practice id>\r\n",
            }
        },
    }
}


class UnsupportedMediaType(IlsError):
    status = 415
    code = "unsupported-media-type"
    title = "The body must be text/plain (VCA DCS)"


@router.post("/import", status_code=201, openapi_extra=DCS_BODY)
async def import_dcs(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    """Create orders from VCA DCS records (lab admin); each record names ``_PRACTICE=<id>``.

    All records are validated first: one bad record creates nothing (422 with pointers
    ``/records/<n>/<field>``).
    """
    if not request.headers.get("content-type", "").lower().startswith("text/plain"):
        raise UnsupportedMediaType("send the DCS records as text/plain")
    raw = await request.body()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise UnsupportedMediaType("DCS records are plain ASCII") from None
    created = await runtime.dcs.import_text(principal, text, runtime.clock())
    return JSONResponse(jsonable_encoder({"items": created}), status_code=201)


@router.get(
    "/{order_id}/dcs",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def export_dcs(
    order_id: UUID, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    """The order as a DCS record: JSON ``{"order_id", "format", "dcs"}``, or the bare record
    with ``Accept: text/plain``."""
    text = await runtime.dcs.export(principal, str(order_id))
    if "text/plain" in request.headers.get("accept", ""):
        return PlainTextResponse(text)
    return JSONResponse({"order_id": str(order_id), "format": "vca-dcs", "dcs": text})
