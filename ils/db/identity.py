"""Users and server-side sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ils.db.database import Conn

INSERT_USER = """
INSERT INTO users (id, tenant_id, email, password_hash, role, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""
SELECT_USER_BY_EMAIL = """
SELECT u.id, u.tenant_id, u.email, u.password_hash, u.role, u.mfa_enabled, u.mfa_secret,
       u.mfa_last_step, u.disabled_at, u.created_at, t.kind AS tenant_kind,
       t.settings AS tenant_settings
FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE lower(u.email) = lower($1)
"""
SELECT_USER = """
SELECT u.id, u.tenant_id, u.email, u.password_hash, u.role, u.mfa_enabled, u.mfa_secret,
       u.mfa_last_step, u.disabled_at, u.created_at, t.kind AS tenant_kind,
       t.settings AS tenant_settings
FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1 AND u.tenant_id = $2
"""
UPDATE_PASSWORD_HASH = "UPDATE users SET password_hash = $2 WHERE id = $1"
INSERT_SESSION = """
INSERT INTO sessions (id, family_id, user_id, tenant_id, access_hash, refresh_hash,
                      access_expires_at, refresh_expires_at, created_at, scope)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
SELECT_BY_ACCESS = """
SELECT s.id, s.family_id, s.user_id, s.tenant_id, s.scope, u.email, u.role,
       t.kind AS tenant_kind
FROM sessions s
JOIN users u ON u.id = s.user_id
JOIN tenants t ON t.id = s.tenant_id
WHERE s.access_hash = $1 AND s.revoked_at IS NULL AND s.access_expires_at > $2
  AND u.disabled_at IS NULL
"""
SELECT_BY_REFRESH = """
SELECT s.id, s.family_id, s.user_id, s.tenant_id, s.rotated_at, s.revoked_at,
       s.refresh_expires_at, s.scope
FROM sessions s WHERE s.refresh_hash = $1 FOR UPDATE
"""
ROTATE_SESSION = "UPDATE sessions SET rotated_at = $2, revoked_at = $2 WHERE id = $1"
REVOKE_FAMILY = """
UPDATE sessions SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
"""
REVOKE_USER = "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"


@dataclass(frozen=True)
class UserRow:
    id: str
    tenant_id: str
    tenant_kind: str
    email: str
    password_hash: str
    role: str
    mfa_enabled: bool
    mfa_secret: str | None
    disabled: bool
    mfa_last_step: int = 0
    created_at: datetime | None = None
    tenant_settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionRow:
    id: str
    family_id: str
    user_id: str
    tenant_id: str
    tenant_kind: str
    email: str
    role: str
    scope: str = "full"


def _user(row: Any) -> UserRow:
    return UserRow(
        id=str(row["id"]),
        tenant_id=str(row["tenant_id"]),
        tenant_kind=row["tenant_kind"],
        email=row["email"],
        password_hash=row["password_hash"],
        role=row["role"],
        mfa_enabled=row["mfa_enabled"],
        mfa_secret=row["mfa_secret"],
        disabled=row["disabled_at"] is not None,
        mfa_last_step=int(row["mfa_last_step"]),
        created_at=row["created_at"],
        tenant_settings=row["tenant_settings"] or {},
    )


async def insert_user(
    conn: Conn,
    user_id: str,
    tenant_id: str,
    email: str,
    password_hash: str,
    role: str,
    now: datetime,
) -> None:
    await conn.execute(INSERT_USER, user_id, tenant_id, email, password_hash, role, now)


async def user_by_email(conn: Conn, email: str) -> UserRow | None:
    row = await conn.fetchrow(SELECT_USER_BY_EMAIL, email)
    return _user(row) if row else None


async def user_in_tenant(conn: Conn, user_id: str, tenant_id: str) -> UserRow | None:
    row = await conn.fetchrow(SELECT_USER, user_id, tenant_id)
    return _user(row) if row else None


async def update_password_hash(conn: Conn, user_id: str, password_hash: str) -> None:
    await conn.execute(UPDATE_PASSWORD_HASH, user_id, password_hash)


async def insert_session(
    conn: Conn,
    session_id: str,
    family_id: str,
    user_id: str,
    tenant_id: str,
    access_hash: bytes,
    refresh_hash: bytes,
    access_expires_at: datetime,
    refresh_expires_at: datetime,
    now: datetime,
    scope: str = "full",
) -> None:
    await conn.execute(
        INSERT_SESSION,
        session_id,
        family_id,
        user_id,
        tenant_id,
        access_hash,
        refresh_hash,
        access_expires_at,
        refresh_expires_at,
        now,
        scope,
    )


async def session_by_access(conn: Conn, access_hash: bytes, now: datetime) -> SessionRow | None:
    row = await conn.fetchrow(SELECT_BY_ACCESS, access_hash, now)
    if row is None:
        return None
    return SessionRow(
        id=str(row["id"]),
        family_id=str(row["family_id"]),
        user_id=str(row["user_id"]),
        tenant_id=str(row["tenant_id"]),
        tenant_kind=row["tenant_kind"],
        email=row["email"],
        role=row["role"],
        scope=row["scope"],
    )


async def session_by_refresh(conn: Conn, refresh_hash: bytes) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_BY_REFRESH, refresh_hash)
    return dict(row) if row else None


async def mark_rotated(conn: Conn, session_id: str, now: datetime) -> None:
    await conn.execute(ROTATE_SESSION, session_id, now)


async def revoke_family(conn: Conn, family_id: str, now: datetime) -> None:
    await conn.execute(REVOKE_FAMILY, family_id, now)


async def revoke_user(conn: Conn, user_id: str, now: datetime) -> None:
    await conn.execute(REVOKE_USER, user_id, now)


SELECT_FAMILY = "SELECT family_id FROM sessions WHERE id = $1"


async def session_by_access_id(conn: Conn, session_id: str) -> str | None:
    """The family of a session, by the session's id."""
    value = await conn.fetchval(SELECT_FAMILY, session_id)
    return str(value) if value else None


# --- MFA -----------------------------------------------------------------------------------------
SET_MFA_SECRET = "UPDATE users SET mfa_secret = $2, mfa_enabled = false WHERE id = $1"
ENABLE_MFA = "UPDATE users SET mfa_enabled = true, mfa_last_step = $2 WHERE id = $1"
SET_MFA_STEP = """
UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND mfa_last_step < $2 RETURNING id
"""
DELETE_RECOVERY = "DELETE FROM mfa_recovery_codes WHERE user_id = $1"
INSERT_RECOVERY = """
INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)
"""
USE_RECOVERY = """
UPDATE mfa_recovery_codes SET used_at = $3
WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id
"""
UPGRADE_SESSION = "UPDATE sessions SET scope = 'full' WHERE id = $1"


async def set_mfa_secret(conn: Conn, user_id: str, sealed_secret: str) -> None:
    await conn.execute(SET_MFA_SECRET, user_id, sealed_secret)


async def enable_mfa(conn: Conn, user_id: str, step: int) -> None:
    await conn.execute(ENABLE_MFA, user_id, step)


async def advance_mfa_step(conn: Conn, user_id: str, step: int) -> bool:
    """Record an accepted TOTP step; False when it (or a later one) was already used."""
    return await conn.fetchval(SET_MFA_STEP, user_id, step) is not None


async def replace_recovery_codes(
    conn: Conn, user_id: str, hashes: list[bytes], now: datetime
) -> None:
    await conn.execute(DELETE_RECOVERY, user_id)
    await conn.executemany(INSERT_RECOVERY, [(user_id, h, now) for h in hashes])


async def use_recovery_code(conn: Conn, user_id: str, code_hash: bytes, now: datetime) -> bool:
    return await conn.fetchval(USE_RECOVERY, user_id, code_hash, now) is not None


async def upgrade_session(conn: Conn, session_id: str) -> None:
    await conn.execute(UPGRADE_SESSION, session_id)


# --- tenant security settings and SSO -----------------------------------------------------------
SET_TENANT_SETTING = """
UPDATE tenants SET settings = settings || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1
"""
DROP_TENANT_SETTING = "UPDATE tenants SET settings = settings - $2::text WHERE id = $1"
SELECT_SSO_TENANTS = """
SELECT id, kind, settings -> 'sso' AS sso FROM tenants
WHERE settings ? 'sso' AND settings #>> '{sso,issuer}' = $1
"""


async def set_tenant_setting(conn: Conn, tenant_id: str, key: str, value: Any) -> None:
    await conn.execute(SET_TENANT_SETTING, tenant_id, key, value)


async def drop_tenant_setting(conn: Conn, tenant_id: str, key: str) -> None:
    await conn.execute(DROP_TENANT_SETTING, tenant_id, key)


async def tenants_by_issuer(conn: Conn, issuer: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(tenant id, kind, sso settings) of every tenant that trusts this issuer."""
    rows = await conn.fetch(SELECT_SSO_TENANTS, issuer)
    return [(str(r["id"]), r["kind"], r["sso"]) for r in rows]


SELECT_MFA_SECRETS = "SELECT id, mfa_secret FROM users WHERE mfa_secret IS NOT NULL"
UPDATE_MFA_SECRET = "UPDATE users SET mfa_secret = $2 WHERE id = $1 AND mfa_secret = $3"


async def mfa_secrets(conn: Conn) -> list[tuple[str, str]]:
    return [(str(r["id"]), r["mfa_secret"]) for r in await conn.fetch(SELECT_MFA_SECRETS)]


async def replace_mfa_secret(conn: Conn, user_id: str, sealed: str, previous: str) -> None:
    await conn.execute(UPDATE_MFA_SECRET, user_id, sealed, previous)
