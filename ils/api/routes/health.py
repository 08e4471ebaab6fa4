"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not reachable"}})
async def readyz(request: Request) -> JSONResponse:
    """PostgreSQL, Redis and the actors this replica uses are reachable."""
    runtime = getattr(request.app.state, "runtime", None)
    checks: dict[str, Any] = {"database": False, "redis": False}
    if runtime is not None:
        checks["database"] = await runtime.db.ping()
        checks["redis"] = await runtime.bus.ping()
    probe = getattr(request.app.state, "readiness_probe", None)
    if probe is not None:
        checks.update(await probe())
    ready = all(bool(v) for v in checks.values())
    return JSONResponse(
        {"ready": ready, "checks": checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )
