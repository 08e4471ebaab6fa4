"""LIMS webhook secrets at rest: sealed on write, opened to verify, re-sealed after key rotation.

A lab's ``webhook_secret`` (and ``webhook_secret_previous`` during a secret rotation) is stored
as :func:`ils.crypto.seal` output (``v1.…``); the plaintext is shown once, by ``ils tenant
create`` or ``ils tenant rotate-webhook-secret``. Rows written before secrets were sealed hold
the plain hex secret: they still verify (a generated secret is hex, so it never starts with
``v1.``) until ``ils secrets reseal`` seals them.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime

from ils.crypto import SealBroken, needs_reseal, seal, unseal
from ils.db import audit, tenants
from ils.db.database import Database
from ils.db.tenants import TenantRow
from ils.errors import NotFound
from ils.settings import Settings

log = logging.getLogger(__name__)

SEALED_PREFIX = "v1."


def new_secret() -> str:
    """A fresh webhook secret (64 hex characters)."""
    return secrets.token_hex(32)


def opened(settings: Settings, stored: str | None) -> str | None:
    """The plaintext of a stored secret; None when unset or when no configured key opens it."""
    if not stored:
        return None
    if not stored.startswith(SEALED_PREFIX):
        return stored  # written before secrets were sealed; `ils secrets reseal` seals it
    try:
        return unseal(settings, stored)
    except SealBroken:
        log.warning("a webhook secret does not open with the configured secret keys")
        return None


def verification_keys(settings: Settings, tenant: TenantRow | None) -> list[bytes]:
    """The secrets a lab's webhook may be signed with (current, then previous); none otherwise."""
    if tenant is None or tenant.kind != "lab":
        return []
    found = (tenant.webhook_secret, tenant.webhook_secret_previous)
    return [s.encode() for s in (opened(settings, f) for f in found) if s]


async def rotate(db: Database, settings: Settings, lab_id: str, now: datetime) -> str:
    """A new webhook secret for the lab (returned in plaintext, stored sealed); the previous
    one stays valid until the next rotation."""
    try:
        lab_id = str(uuid.UUID(lab_id))
    except ValueError:
        raise NotFound("no such lab") from None
    secret = new_secret()
    async with db.transaction() as conn:
        tenant = await tenants.get(conn, lab_id)
        if tenant is None or tenant.kind != "lab":
            raise NotFound("no such lab")
        await tenants.rotate_webhook_secret(conn, lab_id, seal(settings, secret))
        await audit.record(conn, lab_id, now, None, "tenant.webhook_secret_rotated", lab_id, {})
    return secret


def _resealed(settings: Settings, stored: str | None) -> str | None:
    """The value to store instead of ``stored``, or None when it is already right."""
    if not stored:
        return None
    if not stored.startswith(SEALED_PREFIX):
        return seal(settings, stored)
    if not needs_reseal(settings, stored):
        return None
    try:
        return seal(settings, unseal(settings, stored))
    except SealBroken:  # neither key opens it: leave it for an operator, do not fail the rest
        log.warning("a webhook secret opens with neither the current nor the previous key")
        return None


async def reseal(db: Database, settings: Settings) -> int:
    """Seal plaintext secrets and move sealed ones to the current key; the number of labs changed.

    Each row is replaced only if it still holds what was read (a concurrent rotation wins).
    """
    changed = 0
    async with db.transaction() as conn:
        for row in await tenants.webhook_secrets(conn):
            current = _resealed(settings, row.webhook_secret)
            previous = _resealed(settings, row.webhook_secret_previous)
            if current is None and previous is None:
                continue
            current = current or row.webhook_secret
            previous = previous or row.webhook_secret_previous
            changed += await tenants.replace_webhook_secrets(conn, row, current, previous)
    return changed
