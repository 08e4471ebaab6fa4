"""Audit rows, written in the same transaction as the change they record, hash-chained."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ils.db.database import Conn
from ils.db.pool import dumps
from ils.db.tenants import Head
from ils.domain.audit import ChainRow, canonical, chain_hash

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
    # Hash exactly what jsonb will give back (datetimes as ISO text, UUIDs as strings).
    details = json.loads(dumps(details or {}))
    row = await conn.fetchrow(ADVANCE_HEAD, tenant_id)
    n, prev = int(row["audit_count"]), bytes(row["audit_last_hash"])
    digest = chain_hash(prev, canonical(tenant_id, n, at, actor_id, action, subject, details))
    await conn.execute(
        INSERT_ROW, tenant_id, n, at, actor_id, action, subject, details, prev, digest
    )
    await conn.execute(SET_HEAD_HASH, tenant_id, digest)


APPEND_ROW = """
WITH row AS (
    INSERT INTO audit_log (tenant_id, n, at, actor_id, action, subject, details, prev_hash, hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
)
UPDATE tenant_heads SET audit_count = $2, audit_last_hash = $9
WHERE tenant_id = $1 AND audit_count = $2 - 1 AND audit_last_hash = $8
RETURNING tenant_id
"""


class StaleHead(RuntimeError):
    """The head given to :func:`append` is not the tenant's head any more (a programming error)."""


async def append(
    conn: Conn,
    head: Head,
    at: datetime,
    actor_id: str | None,
    action: str,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """:func:`record` in ONE statement, for a caller holding the head's lock (``lock_heads``).

    The row and the head move together; if the head moved since it was read, nothing is kept:
    the statement's guard finds no head row and :class:`StaleHead` aborts the transaction.
    """
    details = json.loads(dumps(details or {}))
    n, prev = head.audit_count + 1, head.audit_last_hash
    digest = chain_hash(prev, canonical(head.tenant_id, n, at, actor_id, action, subject, details))
    moved = await conn.fetchval(
        APPEND_ROW, head.tenant_id, n, at, actor_id, action, subject, details, prev, digest
    )
    if moved is None:
        raise StaleHead(f"the audit head of tenant {head.tenant_id} moved since it was locked")
    head.audit_count, head.audit_last_hash = n, digest


SELECT_PAGE = """
SELECT n, at, actor_id, action, subject, details, prev_hash, hash FROM audit_log
WHERE tenant_id = $1
  AND ($2::text IS NULL OR action = $2)
  AND ($3::uuid IS NULL OR actor_id = $3)
  AND ($4::text IS NULL OR subject = $4)
  AND ($5::timestamptz IS NULL OR at >= $5)
  AND ($6::timestamptz IS NULL OR at < $6)
  AND ($7::bigint IS NULL OR n < $7)
ORDER BY n DESC LIMIT $8
"""
SELECT_CHAIN = """
SELECT n, at, actor_id, action, subject, details, prev_hash, hash FROM audit_log
WHERE tenant_id = $1 AND n > $2 ORDER BY n LIMIT $3
"""
SELECT_HEAD = "SELECT audit_count, audit_last_hash FROM tenant_heads WHERE tenant_id = $1"


def chain_row(row: Any) -> ChainRow:
    return ChainRow(
        n=int(row["n"]),
        at=row["at"],
        actor_id=str(row["actor_id"]) if row["actor_id"] is not None else None,
        action=row["action"],
        subject=row["subject"],
        details=row["details"],
        prev_hash=bytes(row["prev_hash"]),
        hash=bytes(row["hash"]),
    )


async def page(
    conn: Conn,
    tenant_id: str,
    *,
    action: str | None,
    actor_id: str | None,
    subject: str | None,
    since: datetime | None,
    until: datetime | None,
    before_n: int | None,
    limit: int,
) -> list[ChainRow]:
    """The tenant's rows, newest first (filters are ANDed; ``before_n`` is the cursor)."""
    rows = await conn.fetch(
        SELECT_PAGE, tenant_id, action, actor_id, subject, since, until, before_n, limit
    )
    return [chain_row(r) for r in rows]


async def chain(conn: Conn, tenant_id: str, after_n: int, limit: int) -> list[ChainRow]:
    return [chain_row(r) for r in await conn.fetch(SELECT_CHAIN, tenant_id, after_n, limit)]


async def head(conn: Conn, tenant_id: str) -> tuple[int, bytes] | None:
    row = await conn.fetchrow(SELECT_HEAD, tenant_id)
    return (int(row["audit_count"]), bytes(row["audit_last_hash"])) if row else None
