"""Reading and verifying the tenant's hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db import audit
from ils.db.database import Database
from ils.domain.audit import ChainCheck, ChainRow
from ils.errors import FieldIssue, NotFound, ValidationFailed

VERIFY_PAGE = 1000


def row_view(row: ChainRow) -> dict[str, Any]:
    return {
        "n": row.n,
        "at": row.at,
        "actor_id": row.actor_id,
        "action": row.action,
        "subject": row.subject,
        "details": row.details,
        "prev_hash": row.prev_hash.hex(),
        "hash": row.hash.hex(),
    }


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise ValidationFailed([FieldIssue("/query/cursor", "cursor-invalid", "not a cursor")])
    return int(cursor)


class AuditTrail:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self,
        tenant_id: str,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Newest first; ``next_cursor`` continues with older rows."""
        async with self.db.connection() as conn:
            rows = await audit.page(
                conn,
                tenant_id,
                action=action,
                actor_id=actor_id,
                subject=subject,
                since=since,
                until=until,
                before_n=_cursor(cursor),
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [row_view(r) for r in rows],
            "next_cursor": str(rows[-1].n) if more and rows else None,
        }

    async def verify(self, tenant_id: str) -> dict[str, Any]:
        """Walk the whole chain; the first row that was altered, deleted or reordered."""
        check = ChainCheck(tenant_id)
        async with self.db.connection() as conn:
            found = await audit.head(conn, tenant_id)
            if found is None:
                raise NotFound("no such tenant")
            while True:
                rows = await audit.chain(conn, tenant_id, check.checked, VERIFY_PAGE)
                if not check.feed(rows) or len(rows) < VERIFY_PAGE:
                    break
        ok = check.finish(*found)
        return {
            "tenant_id": tenant_id,
            "ok": ok,
            "rows": check.checked if ok else found[0],
            "broken_at": check.broken_at,
            "reason": check.reason,
        }
