"""Audit rows, written in the same transaction as the change they record, hash-chained."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn
from ils.domain.audit import canonical, chain_hash

ADVANCE_HEAD = """
UPDATE tenant_heads SET audit_count = audit_count + 1 WHERE tenant_id = $1
RETURNING audit_count, audit_last_hash
"""
SET_HEAD_HASH = "UPDATE tenant_heads SET audit_last_hash = $2 WHERE tenant_id = $1"
INSERT_ROW = """
INSERT INTO audit_log (tenant_id, n, at, actor_id, action, subject, details, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


async def record(
    conn: Conn,
    tenant_id: str,
    at: datetime,
    actor_id: str | None,
    action: str,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row. The UPDATE takes the tenant head's row lock for the transaction."""
    details = details or {}
    row = await conn.fetchrow(ADVANCE_HEAD, tenant_id)
    n, prev = int(row["audit_count"]), bytes(row["audit_last_hash"])
    digest = chain_hash(prev, canonical(tenant_id, n, at, actor_id, action, subject, details))
    await conn.execute(
        INSERT_ROW, tenant_id, n, at, actor_id, action, subject, details, prev, digest
    )
    await conn.execute(SET_HEAD_HASH, tenant_id, digest)
