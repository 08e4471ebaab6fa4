"""Dependencies that make routes read like prose: ``principal: CurrentPrincipal``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ils.domain.access import Principal
from ils.errors import DependencyUnavailable, Unauthenticated
from ils.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:  # async: no thread-pool hop per request
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise DependencyUnavailable("ILS is starting")
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <access_token>")
    return token.strip()


async def current_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller, from an ILS access token or an SSO bearer JWT (ils/services/sso.py)."""
    principal: Principal = await runtime.identity.authenticate(
        bearer_token(request), runtime.clock()
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def enrolling_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Like ``current_principal`` but also accepts a session that may only enrol MFA."""
    principal: Principal = await runtime.identity.authenticate(
        bearer_token(request), runtime.clock(), allow_enrollment=True
    )
    request.state.principal = principal
    return principal


EnrollingPrincipal = Annotated[Principal, Depends(enrolling_principal)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""
