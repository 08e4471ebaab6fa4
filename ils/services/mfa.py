"""MFA use-cases: TOTP enrolment and confirmation, and the second factor at login.

The TOTP secret is sealed at rest (ils/crypto.py) and only turns on after the user proves they
hold it (confirm). Recovery codes are shown once, stored as hashes and each works once.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pyotp

from ils.crypto import needs_reseal, seal, unseal
from ils.db import audit, identity
from ils.db.database import Conn, Database
from ils.db.identity import UserRow
from ils.domain.access import Principal
from ils.domain.mfa import (
    RECOVERY_COUNT,
    format_recovery_code,
    looks_like_recovery_code,
    matching_step,
    otpauth_uri,
    recovery_hash,
)
from ils.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from ils.settings import Settings


class Mfa:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def enroll(self, principal: Principal, now: datetime) -> dict[str, Any]:
        """A new secret and recovery codes; MFA stays off until :meth:`confirm`."""
        secret = pyotp.random_base32()
        codes = [format_recovery_code(secrets.token_bytes(10)) for _ in range(RECOVERY_COUNT)]
        async with self.db.transaction() as conn:
            user = await self._user(conn, principal)
            if user.mfa_enabled:
                raise Conflict("MFA is already on for this user")
            await identity.set_mfa_secret(conn, user.id, seal(self.settings, secret))
            await identity.replace_recovery_codes(
                conn, user.id, [recovery_hash(c) for c in codes], now
            )
            await audit.record(
                conn, user.tenant_id, now, user.id, "mfa.enrollment_started", user.id
            )
        return {
            "secret": secret,
            "otpauth_uri": otpauth_uri(secret, user.email),
            "recovery_codes": codes,
        }

    async def confirm(self, principal: Principal, code: str, now: datetime) -> None:
        """Turn MFA on with a first valid code; an enrolment-only session becomes a full one."""
        async with self.db.transaction() as conn:
            user = await self._user(conn, principal)
            if user.mfa_enabled:
                raise Conflict("MFA is already on for this user")
            if not user.mfa_secret:
                raise Conflict("start with POST /api/auth/mfa/enroll")
            step = matching_step(unseal(self.settings, user.mfa_secret), code, now, 0)
            if step is None:
                await audit.record(
                    conn, user.tenant_id, now, user.id, "mfa.confirm_failed", user.id
                )
                failed = True
            else:
                await identity.enable_mfa(conn, user.id, step)
                if principal.session_id:
                    await identity.upgrade_session(conn, principal.session_id)
                await audit.record(conn, user.tenant_id, now, user.id, "mfa.enabled", user.id)
                failed = False
        if failed:
            raise ValidationFailed([FieldIssue("/totp", "totp-invalid", "the code is not valid")])

    async def second_factor(
        self, conn: Conn, user: UserRow, code: str, now: datetime
    ) -> str | None:
        """Check a login's code inside its transaction: 'totp', 'recovery_code' or None."""
        if user.mfa_secret is None:
            return None
        step = matching_step(unseal(self.settings, user.mfa_secret), code, now, user.mfa_last_step)
        if step is not None and await identity.advance_mfa_step(conn, user.id, step):
            return "totp"
        if looks_like_recovery_code(code) and await identity.use_recovery_code(
            conn, user.id, recovery_hash(code), now
        ):
            return "recovery_code"
        return None

    async def reseal(self) -> int:
        """After a key rotation: re-seal every TOTP secret still under the previous key."""
        changed = 0
        async with self.db.transaction() as conn:
            for user_id, sealed in await identity.mfa_secrets(conn):
                if needs_reseal(self.settings, sealed):
                    fresh = seal(self.settings, unseal(self.settings, sealed))
                    await identity.replace_mfa_secret(conn, user_id, fresh, sealed)
                    changed += 1
        return changed

    async def _user(self, conn: Conn, principal: Principal) -> UserRow:
        user = await identity.user_in_tenant(conn, principal.user_id, principal.tenant_id)
        if user is None:
            raise NotFound("no such user")
        return user
