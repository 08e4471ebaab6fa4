"""Dependencies that make routes read like prose: ``principal: CurrentPrincipal``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ils.domain.access import Principal
from ils.errors import DependencyUnavailable, Unauthenticated
from ils.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
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
    principal: Principal = await runtime.identity.authenticate(
        bearer_token(request), runtime.clock()
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
