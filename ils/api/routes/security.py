"""Tenant security settings (MFA policy, SSO), the audit trail, and pseudonymised exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from ils.api.deps import CurrentPrincipal, RuntimeDep
from ils.db import audit, identity
from ils.domain.access import Permission, Principal, roles_for
from ils.domain.sso import SsoConfig
from ils.errors import FieldIssue, NotFound, ValidationFailed
from ils.services.audit_trail import AuditTrail
from ils.services.exports import export_orders

router = APIRouter(prefix="/api", tags=["security"])


class SecurityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Roles (besides admin, which always must) that must use MFA in this tenant.
    mfa_required_roles: list[str] = Field(default_factory=list, max_length=5)


class AuditRowOut(BaseModel):
    n: int
    at: datetime
    actor_id: str | None
    action: str
    subject: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditRowOut]
    next_cursor: str | None


class ExportOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None
    pseudonymized: bool


def _check_roles(principal: Principal, roles: list[str], pointer: str) -> None:
    allowed = [str(r) for r in roles_for(principal.tenant_kind)]
    bad = [
        FieldIssue(f"{pointer}/{i}", "role-invalid", "not a role of this tenant")
        for i, r in enumerate(roles)
        if r not in allowed
    ]
    if bad:
        raise ValidationFailed(bad)


async def _set(runtime: Any, principal: Principal, key: str, value: Any, action: str) -> None:
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        if value is None:
            await identity.drop_tenant_setting(conn, principal.tenant_id, key)
        else:
            await identity.set_tenant_setting(conn, principal.tenant_id, key, value)
        await audit.record(
            conn,
            principal.tenant_id,
            now,
            principal.user_id,
            action,
            principal.tenant_id,
            {key: value},
        )


@router.put("/tenant/security", response_model=SecurityIn)
async def put_security(
    body: SecurityIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Which roles must use MFA (admins always do)."""
    principal.require(Permission.USERS_MANAGE)
    _check_roles(principal, body.mfa_required_roles, "/mfa_required_roles")
    await _set(runtime, principal, "security", body.model_dump(), "tenant.security_changed")
    return body.model_dump()


@router.put("/tenant/sso", response_model=SsoConfig)
async def put_sso(body: SsoConfig, principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    """Trust bearer JWTs from this OIDC issuer; claims map to a user (email) and a role."""
    principal.require(Permission.USERS_MANAGE)
    roles = [*body.role_map.values(), *([body.default_role] if body.default_role else [])]
    _check_roles(principal, roles, "/role_map")
    await _set(runtime, principal, "sso", body.model_dump(), "tenant.sso_configured")
    return body


@router.get("/tenant/sso", response_model=SsoConfig)
async def get_sso(principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    principal.require(Permission.USERS_MANAGE)
    async with runtime.db.connection() as conn:
        settings = await conn.fetchval(
            "SELECT settings -> 'sso' FROM tenants WHERE id = $1", principal.tenant_id
        )
    if settings is None:
        raise NotFound("SSO is not configured")
    return SsoConfig.model_validate(settings)


@router.delete("/tenant/sso", status_code=204, response_class=Response)
async def delete_sso(principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    """Stop trusting the issuer at once."""
    principal.require(Permission.USERS_MANAGE)
    await _set(runtime, principal, "sso", None, "tenant.sso_removed")
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPageOut)
async def list_audit(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    action: Annotated[str | None, Query(max_length=100)] = None,
    actor_id: UUID | None = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The tenant's audit trail, newest first (admin)."""
    principal.require(Permission.AUDIT_READ)
    return await AuditTrail(runtime.db).list(
        principal.tenant_id,
        action=action,
        actor_id=str(actor_id) if actor_id else None,
        subject=subject,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


@router.get("/exports/orders", response_model=ExportOut)
async def export(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    pseudonymize: bool = True,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """Orders for analytics; with ``pseudonymize`` patient refs are keyed hashes, notes dropped."""
    principal.require(Permission.ANALYTICS_READ if pseudonymize else Permission.ORDERS_READ)
    page = await export_orders(
        runtime.orders,
        runtime.settings,
        principal,
        pseudonymize=pseudonymize,
        cursor=cursor,
        limit=limit,
    )
    return jsonable_encoder(page)
