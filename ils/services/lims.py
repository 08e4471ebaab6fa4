"""A lab's LIMS connection: configure it (the key sealed at rest) and show it with its breaker.

The breaker itself lives in the relay (:mod:`ils.services.relay`), which saves a snapshot on
``lab_lims`` whenever it changes; this view re-reads that snapshot at ``now`` (an open breaker
whose time is up shows as half-open) and counts the lab's outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.crypto import seal
from ils.db import audit, lims_config, outbox
from ils.db.database import Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.errors import FieldIssue, ValidationFailed
from ils.lims.breaker import Breaker, BreakerPolicy
from ils.settings import Settings


def require_lab(principal: Principal) -> None:
    if principal.tenant_kind is not TenantKind.LAB:
        raise ValidationFailed([FieldIssue("", "lab-only", "only a lab has a LIMS")])


async def store_lims(
    db: Database,
    settings: Settings,
    lab_id: str,
    base_url: str,
    api_key: str,
    user_id: str | None,
    now: datetime,
) -> None:
    """Store a lab's LIMS (the key sealed) with its audit row; the demo set-up calls it too."""
    sealed = seal(settings, api_key)
    async with db.transaction() as conn:
        await lims_config.upsert(conn, lab_id, base_url, sealed, user_id, now)
        await audit.record(
            conn, lab_id, now, user_id, "lab.lims_configured", lab_id, {"base_url": base_url}
        )


class LabLims:
    def __init__(
        self, db: Database, settings: Settings, breaker_policy: BreakerPolicy | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.breaker_policy = breaker_policy or BreakerPolicy()

    async def configure(
        self, principal: Principal, base_url: str, api_key: str, now: datetime
    ) -> dict[str, Any]:
        """Set the lab's LIMS; a new setting starts with a closed breaker."""
        principal.require(Permission.LAB_CONFIGURE)
        require_lab(principal)
        await store_lims(
            self.db, self.settings, principal.tenant_id, base_url, api_key, principal.user_id, now
        )
        return await self._view(principal.tenant_id, now)

    async def show(self, principal: Principal, now: datetime) -> dict[str, Any]:
        """Every lab user may see it (it never shows the key); only an admin changes it."""
        principal.require(Permission.LAB_READ)
        require_lab(principal)
        return await self._view(principal.tenant_id, now)

    async def _view(self, lab_id: str, now: datetime) -> dict[str, Any]:
        async with self.db.connection() as conn:
            row = await lims_config.get(conn, lab_id)
            depth = await outbox.depth(conn, lab_id)
        oldest = depth["oldest_pending_at"]
        queue = {**depth, "oldest_pending_at": oldest.isoformat() if oldest else None}
        if row is None:
            return {
                "configured": False,
                "base_url": None,
                "api_key_set": False,
                "breaker": None,
                "outbox": queue,
                "last_error": None,
                "last_error_at": None,
                "updated_at": None,
            }
        breaker = Breaker.from_snapshot(self.breaker_policy, row["breaker"])
        last_error_at = row["last_error_at"]
        return {
            "configured": True,
            "base_url": row["base_url"],
            "api_key_set": True,
            "breaker": breaker.snapshot(now),
            "outbox": queue,
            "last_error": row["last_error"],
            "last_error_at": last_error_at.isoformat() if last_error_at else None,
            "updated_at": row["updated_at"].isoformat(),
        }
