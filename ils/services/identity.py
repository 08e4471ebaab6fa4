"""Identity use-cases: tenants, users, login, refresh, logout, and token authentication.

Tokens are opaque random strings; only their SHA-256 hashes are stored, so a database leak does
not leak usable tokens. A session row is the unit of revocation: revoke it and the next request
with its token fails. Password hashing is argon2id, run in a worker thread so a login never
stalls the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from ils.bus import Bus
from ils.crypto import seal
from ils.db import audit, identity, tenants
from ils.db.database import Conn, Database
from ils.db.identity import UserRow
from ils.domain.access import Principal, Role, TenantKind, roles_for
from ils.domain.mfa import mfa_required
from ils.domain.password import password_issues
from ils.errors import (
    Conflict,
    FieldIssue,
    Forbidden,
    InvalidCredentials,
    MfaRequired,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from ils.services.login_guard import LoginGuard
from ils.services.mfa import Mfa
from ils.services.sso import Sso, looks_like_jwt
from ils.services.webhook_secrets import new_secret
from ils.settings import Settings

FULL, ENROLLMENT = "full", "mfa_enrollment"


class MfaEnrollmentRequired(Forbidden):
    code = "mfa-enrollment-required"
    title = "Enrol MFA before using ILS"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (ils/domain/data/common_passwords.txt)."""
    text = resources.files("ils.domain.data").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str = FULL

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def normalise_email(email: str, pointer: str = "/email") -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed([FieldIssue(pointer, "email-invalid", "not a valid email address")])
    return email.lower()


class Identity:
    def __init__(self, db: Database, settings: Settings, bus: Bus | None = None) -> None:
        self.db = db
        self.settings = settings
        self.guard = LoginGuard(bus, settings)
        self.mfa = Mfa(db, settings)
        self.sso = Sso(db)
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # A hash to verify against when the email is unknown, so timing does not reveal it.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash_password(self, password: str, pointer: str = "/password") -> str:
        issues = password_issues(password, pointer, common_passwords())
        if issues:
            raise ValidationFailed(issues)
        return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify(self, stored_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    async def create_tenant(
        self,
        kind: TenantKind,
        name: str,
        admin_email: str,
        admin_password: str,
        now: datetime,
    ) -> dict[str, Any]:
        email = normalise_email(admin_email, "/admin_email")
        password_hash = await self.hash_password(admin_password, "/admin_password")
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        secret = new_secret() if kind is TenantKind.LAB else None
        sealed = seal(self.settings, secret) if secret is not None else None
        async with self.db.transaction() as conn:
            if await identity.user_by_email(conn, email):
                raise Conflict("a user with this email already exists")
            await tenants.insert(conn, tenant_id, kind, name, {}, sealed, now)
            await identity.insert_user(conn, user_id, tenant_id, email, password_hash, "admin", now)
            await audit.record(
                conn,
                tenant_id,
                now,
                None,
                "tenant.created",
                tenant_id,
                {"kind": str(kind), "name": name, "admin_user_id": user_id},
            )
        result: dict[str, Any] = {"tenant_id": tenant_id, "admin_user_id": user_id}
        if secret is not None:
            result["webhook_secret"] = secret
        return result

    async def link(self, lab_id: str, practice_id: str, now: datetime) -> None:
        async with self.db.transaction() as conn:
            lab, practice = await tenants.get(conn, lab_id), await tenants.get(conn, practice_id)
            if lab is None or lab.kind != "lab":
                raise NotFound("no such lab")
            if practice is None or practice.kind != "practice":
                raise NotFound("no such practice")
            await tenants.link(conn, lab_id, practice_id, now)
            for tenant_id in (lab_id, practice_id):
                await audit.record(
                    conn,
                    tenant_id,
                    now,
                    None,
                    "tenant.linked",
                    None,
                    {"lab_id": lab_id, "practice_id": practice_id},
                )

    async def create_user(
        self,
        actor: Principal,
        email: str,
        password: str,
        role: str,
        now: datetime,
    ) -> dict[str, Any]:
        email = normalise_email(email)
        allowed = roles_for(actor.tenant_kind)
        if role not in [str(r) for r in allowed]:
            raise ValidationFailed(
                [
                    FieldIssue(
                        "/role",
                        "role-invalid",
                        f"a {actor.tenant_kind} user has one of the roles "
                        + ", ".join(map(str, allowed)),
                    )
                ]
            )
        password_hash = await self.hash_password(password)
        user_id = str(uuid.uuid4())
        async with self.db.transaction() as conn:
            if await identity.user_by_email(conn, email):
                raise Conflict("a user with this email already exists")
            await identity.insert_user(
                conn, user_id, actor.tenant_id, email, password_hash, role, now
            )
            await audit.record(
                conn,
                actor.tenant_id,
                now,
                actor.user_id,
                "user.created",
                user_id,
                {"email": email, "role": role},
            )
        return {
            "id": user_id,
            "email": email,
            "role": role,
            "tenant_id": actor.tenant_id,
            "created_at": now,
        }

    async def login(
        self,
        email: str,
        password: str,
        now: datetime,
        totp: str | None = None,
        address: str = "",
    ) -> TokenPair:
        """Password, then (when on) the second factor; failures count towards a lockout."""
        await self.guard.check(email, address)
        user = None
        if _EMAIL.match(email.strip()):  # anything else (NUL, lookalikes) is simply unknown
            async with self.db.connection() as conn:
                user = await identity.user_by_email(conn, email.strip())
        ok = await self._verify(user.password_hash if user else self._dummy_hash, password)
        if user is None or not ok or user.disabled:
            await self._failed(user, email, address, now, "auth.login_failed")
            raise InvalidCredentials()
        if user.mfa_enabled and not totp:
            async with self.db.transaction() as conn:
                await audit.record(conn, user.tenant_id, now, user.id, "auth.mfa_required", user.id)
            raise MfaRequired("send the code from your authenticator app (or a recovery code)")
        new_hash = None
        if self.hasher.check_needs_rehash(user.password_hash):
            new_hash = await asyncio.to_thread(self.hasher.hash, password)
        async with self.db.transaction() as conn:
            method = None
            if user.mfa_enabled:
                method = await self.mfa.second_factor(conn, user, totp or "", now)
            if user.mfa_enabled and method is None:
                pair = None
            else:
                pair = await self._signed_in(conn, user, new_hash, method, now)
        if pair is None:
            await self._failed(user, email, address, now, "auth.mfa_failed")
            raise MfaRequired("the one-time code is not valid")
        await self.guard.succeeded(email)
        return pair

    async def _signed_in(
        self, conn: Conn, user: UserRow, new_hash: str | None, method: str | None, now: datetime
    ) -> TokenPair:
        scope = FULL
        if not user.mfa_enabled and mfa_required(user.role, user.tenant_settings):
            created = user.created_at or now
            if now >= created + timedelta(days=self.settings.mfa_grace_days):
                scope = ENROLLMENT
        if new_hash:
            await identity.update_password_hash(conn, user.id, new_hash)
        pair = await self._new_session(conn, user.id, user.tenant_id, str(uuid.uuid4()), now, scope)
        details: dict[str, Any] = {"mfa": method, "scope": scope}
        await audit.record(conn, user.tenant_id, now, user.id, "auth.login", user.id, details)
        return pair

    async def _failed(
        self, user: UserRow | None, email: str, address: str, now: datetime, action: str
    ) -> None:
        locked = await self.guard.failed(email, address)
        if user is None:
            return  # no tenant to hold the row: an unknown email is only rate-limited
        async with self.db.transaction() as conn:
            await audit.record(conn, user.tenant_id, now, user.id, action, user.id)
            if locked:
                await audit.record(
                    conn,
                    user.tenant_id,
                    now,
                    None,
                    "auth.locked_out",
                    user.id,
                    {"lockout_s": self.settings.lockout_s},
                )

    async def _new_session(
        self,
        conn: Any,
        user_id: str,
        tenant_id: str,
        family_id: str,
        now: datetime,
        scope: str = FULL,
    ) -> TokenPair:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        await identity.insert_session(
            conn,
            str(uuid.uuid4()),
            family_id,
            user_id,
            tenant_id,
            token_hash(access),
            token_hash(refresh),
            now + timedelta(seconds=self.settings.access_token_ttl_s),
            now + timedelta(seconds=self.settings.refresh_token_ttl_s),
            now,
            scope,
        )
        return TokenPair(access, refresh, self.settings.access_token_ttl_s, scope)

    async def refresh(self, refresh_token: str, now: datetime) -> TokenPair:
        """Rotate: the old pair stops working; a reused refresh token revokes the whole family."""
        async with self.db.transaction() as conn:
            row = await identity.session_by_refresh(conn, token_hash(refresh_token))
            if row is None:
                raise Unauthenticated("the refresh token is not valid")
            family_id = str(row["family_id"])
            if row["rotated_at"] is not None:
                await identity.revoke_family(conn, family_id, now)
                await audit.record(
                    conn,
                    str(row["tenant_id"]),
                    now,
                    str(row["user_id"]),
                    "auth.refresh_reused",
                    family_id,
                )
                reused = True
            else:
                reused = False
        if reused:
            raise Unauthenticated("the refresh token was already used; the session is revoked")
        if row["revoked_at"] is not None or row["refresh_expires_at"] <= now:
            raise Unauthenticated("the session has ended")
        async with self.db.transaction() as conn:
            await identity.mark_rotated(conn, str(row["id"]), now)
            return await self._new_session(
                conn, str(row["user_id"]), str(row["tenant_id"]), family_id, now, row["scope"]
            )

    async def logout(self, principal: Principal, now: datetime, everywhere: bool = False) -> None:
        async with self.db.transaction() as conn:
            session = await identity.session_by_access_id(conn, principal.session_id)
            if everywhere:
                await identity.revoke_user(conn, principal.user_id, now)
            elif session is not None:
                await identity.revoke_family(conn, session, now)
            await audit.record(
                conn,
                principal.tenant_id,
                now,
                principal.user_id,
                "auth.logout_everywhere" if everywhere else "auth.logout",
                principal.user_id,
            )

    async def authenticate(
        self, access_token: str, now: datetime, allow_enrollment: bool = False
    ) -> Principal:
        """The principal of an ILS access token or of an SSO bearer JWT."""
        if looks_like_jwt(access_token):
            return await self.sso.principal(access_token, now)
        async with self.db.connection() as conn:
            row = await identity.session_by_access(conn, token_hash(access_token), now)
        if row is None:
            raise Unauthenticated("the access token is not valid or has expired")
        if row.scope != FULL and not allow_enrollment:
            raise MfaEnrollmentRequired(
                "your role must use MFA: POST /api/auth/mfa/enroll, then /api/auth/mfa/confirm"
            )
        return Principal(
            user_id=row.user_id,
            tenant_id=row.tenant_id,
            tenant_kind=TenantKind(row.tenant_kind),
            role=Role(row.role),
            email=row.email,
            session_id=row.id,
        )
