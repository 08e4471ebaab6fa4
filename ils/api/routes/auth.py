"""Login, refresh, logout, the caller's identity, and user administration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, EnrollingPrincipal, RuntimeDep, client_address
from ils.domain.access import Permission

router = APIRouter(prefix="/api", tags=["identity"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=16)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    #: "mfa_enrollment": the session may only enrol MFA (the role requires it).
    scope: Literal["full", "mfa_enrollment"] = "full"


class EnrollOut(BaseModel):
    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    totp: str = Field(min_length=6, max_length=16)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    everywhere: bool = False


class MeOut(BaseModel):
    user_id: str
    email: str
    tenant_id: str
    tenant_kind: Literal["lab", "practice"]
    role: str
    permissions: list[str]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    role: str = Field(min_length=1, max_length=32)


class UserOut(BaseModel):
    id: str
    email: str
    role: str
    tenant_id: str
    created_at: datetime


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginIn, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Exchange email, password (and a TOTP or recovery code when MFA is on) for tokens."""
    pair = await runtime.identity.login(
        body.email, body.password, runtime.clock(), body.totp, client_address(request)
    )
    return pair.as_dict()


@router.post("/auth/refresh", response_model=TokenOut)
async def refresh(body: RefreshIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Rotate the token pair; a refresh token works once."""
    pair = await runtime.identity.refresh(body.refresh_token, runtime.clock())
    return pair.as_dict()


@router.post("/auth/logout", status_code=204, response_class=Response)
async def logout(
    principal: EnrollingPrincipal, runtime: RuntimeDep, body: LogoutIn | None = None
) -> Response:
    """End this session at once (or every session of the user with ``everywhere``)."""
    everywhere = bool(body and body.everywhere)
    await runtime.identity.logout(principal, runtime.clock(), everywhere=everywhere)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
async def me(principal: EnrollingPrincipal) -> dict[str, Any]:
    """Who the token belongs to, and what they may do."""
    return {
        "user_id": principal.user_id,
        "email": principal.email,
        "tenant_id": principal.tenant_id,
        "tenant_kind": str(principal.tenant_kind),
        "role": str(principal.role),
        "permissions": sorted(str(p) for p in principal.permissions),
    }


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(
    body: UserIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """An admin adds a user to their own tenant."""
    principal.require(Permission.USERS_MANAGE)
    return await runtime.identity.create_user(
        principal, body.email, body.password, body.role, runtime.clock()
    )


@router.post("/auth/mfa/enroll", response_model=EnrollOut)
async def mfa_enroll(principal: EnrollingPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """A new TOTP secret and one-time recovery codes (shown once); MFA is on after confirm."""
    return await runtime.identity.mfa.enroll(principal, runtime.clock())


@router.post("/auth/mfa/confirm", status_code=204, response_class=Response)
async def mfa_confirm(
    body: ConfirmIn, principal: EnrollingPrincipal, runtime: RuntimeDep
) -> Response:
    """Turn MFA on with a first code from the authenticator app."""
    await runtime.identity.mfa.confirm(principal, body.totp, runtime.clock())
    return Response(status_code=204)
