"""The transactional outbox as the LIMS relay sees it: due labs, claims, and the row's fate.

A claim is a lease: the rows are picked with ``FOR UPDATE SKIP LOCKED`` (two relays never pick the
same row) and their ``next_attempt_at`` is pushed past the longest a send can take, in a short
transaction of its own, so no connection is held while the LIMS answers. Every later update is
guarded by ``sent_at IS NULL AND failed_at IS NULL``: a row that is done stays done, whoever is
late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ils.db.database import Conn
from ils.db.orders import ORDER_COLUMNS, order_row

PENDING = "sent_at IS NULL AND failed_at IS NULL"

DUE_LABS = f"""
SELECT l.lab_id, l.base_url, l.api_key_sealed, l.breaker, l.version
FROM lab_lims l
WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.lab_id = l.lab_id AND o.{PENDING}
              AND o.next_attempt_at <= $1)
"""
CLAIM = f"""
UPDATE outbox SET next_attempt_at = $3
WHERE id IN (
    SELECT id FROM outbox
    WHERE lab_id = $1 AND {PENDING} AND next_attempt_at <= $2
    ORDER BY next_attempt_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
RETURNING id, lab_id, order_id, kind, payload, attempts
"""
MARK_SENT = f"""
UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL
WHERE id = $1 AND {PENDING} RETURNING id
"""
MARK_FAILED = f"""
UPDATE outbox SET failed_at = $2, attempts = attempts + 1, last_error = $3
WHERE id = $1 AND {PENDING} RETURNING id
"""
RESCHEDULE = f"""
UPDATE outbox SET attempts = attempts + $4, next_attempt_at = $2, last_error = $3
WHERE id = $1 AND {PENDING}
"""
RELEASE = f"UPDATE outbox SET next_attempt_at = $2 WHERE id = ANY($1::bigint[]) AND {PENDING}"
DEPTH = f"""
SELECT count(*) FILTER (WHERE {PENDING}) AS pending,
       count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
       min(created_at) FILTER (WHERE {PENDING}) AS oldest_pending_at
FROM outbox WHERE lab_id = $1
"""
RECORD_JOB = f"""
UPDATE orders SET lims_job_id = $2, sent_to_lab_at = $3, updated_at = $3, version = version + 1
WHERE id = $1 RETURNING {ORDER_COLUMNS}
"""
SELECT_ORDER_FOR_UPDATE = f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    lab_id: str
    order_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


async def due_labs(conn: Conn, now: datetime) -> list[dict[str, Any]]:
    """Labs with a configured LIMS and at least one row due at ``now``."""
    rows = await conn.fetch(DUE_LABS, now)
    return [{**dict(r), "lab_id": str(r["lab_id"])} for r in rows]


async def claim(
    conn: Conn, lab_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[OutboxRow]:
    rows = await conn.fetch(CLAIM, lab_id, now, lease_until, limit)
    claimed = [
        OutboxRow(
            r["id"], str(r["lab_id"]), str(r["order_id"]), r["kind"], r["payload"], r["attempts"]
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda row: row.id)


async def mark_sent(conn: Conn, row_id: int, now: datetime) -> bool:
    return await conn.fetchval(MARK_SENT, row_id, now) is not None


async def mark_failed(conn: Conn, row_id: int, now: datetime, error: str) -> bool:
    return await conn.fetchval(MARK_FAILED, row_id, now, error) is not None


async def reschedule(
    conn: Conn, row_id: int, at: datetime, error: str | None, count_attempt: bool = True
) -> None:
    await conn.execute(RESCHEDULE, row_id, at, error, 1 if count_attempt else 0)


async def release(conn: Conn, row_ids: list[int], at: datetime) -> None:
    if row_ids:
        await conn.execute(RELEASE, row_ids, at)


async def depth(conn: Conn, lab_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(DEPTH, lab_id)
    return {
        "pending": int(row["pending"]),
        "failed": int(row["failed"]),
        "oldest_pending_at": row["oldest_pending_at"],
    }


async def order_for_update(conn: Conn, order_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_ORDER_FOR_UPDATE, order_id)
    return order_row(row) if row else None


async def record_job(conn: Conn, order_id: str, job_id: str, now: datetime) -> dict[str, Any]:
    """The LIMS accepted the order: its job id and when it was sent (the status stays)."""
    return order_row(await conn.fetchrow(RECORD_JOB, order_id, job_id, now))
