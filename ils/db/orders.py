"""Orders, their issues (returns, non-adapts) and the idempotency records of creating requests."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from ils.db.database import Conn

ORDER_COLUMNS = """
id, order_number, practice_id, lab_id, status, held_from, station, patient_ref, due_date,
priority, rx, rx_minus_cyl, lens, frame, clinical_notes, warnings, remake_of, lims_job_id,
lims_sequence, sent_to_lab_at, delivered_at, created_at, updated_at, version
"""
INSERT_ORDER = """
INSERT INTO orders (id, order_number, practice_id, lab_id, status, patient_ref, due_date,
    priority, rx, rx_minus_cyl, lens, frame, clinical_notes, warnings, remake_of, created_by,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
"""
SELECT_VISIBLE = f"""
SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 AND (practice_id = $2 OR lab_id = $2)
"""
SELECT_VISIBLE_FOR_UPDATE = SELECT_VISIBLE + " FOR UPDATE"
UPDATE_STATUS = f"""
UPDATE orders SET status = $2, held_from = $3, station = $4, delivered_at = $5, updated_at = $6,
    version = version + 1
WHERE id = $1 RETURNING {ORDER_COLUMNS}
"""
SELECT_PAGE = f"""
SELECT {ORDER_COLUMNS} FROM orders
WHERE (practice_id = $1 OR lab_id = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR station = $3)
  AND ($4::uuid IS NULL OR practice_id = $4)
  AND ($5::timestamptz IS NULL OR updated_at >= $5)
  AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $8
"""
CLAIM_KEY = """
INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, status, response, created_at)
VALUES ($1, $2, $3, $4, 0, '{}'::jsonb, $5)
ON CONFLICT DO NOTHING RETURNING key
"""
SELECT_KEY = """
SELECT request_hash, status, response FROM idempotency_keys
WHERE tenant_id = $1 AND scope = $2 AND key = $3
"""
STORE_RESPONSE = """
UPDATE idempotency_keys SET status = $4, response = $5
WHERE tenant_id = $1 AND scope = $2 AND key = $3
"""
INSERT_OUTBOX = """
INSERT INTO outbox (lab_id, order_id, kind, payload, created_at, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $5)
"""
RESUBMIT = """
INSERT INTO outbox (lab_id, order_id, kind, payload, created_at, next_attempt_at)
SELECT $1::uuid, $2::uuid, 'submit_job', jsonb_build_object('order_id', $2::text), $3, $3
WHERE NOT EXISTS (
    SELECT 1 FROM outbox WHERE order_id = $2::uuid AND sent_at IS NULL AND failed_at IS NULL
)
RETURNING id
"""
INSERT_ISSUE = """
INSERT INTO order_issues (id, order_id, practice_id, lab_id, kind, category, reason, symptoms,
    notes, within_warranty, remake_order_id, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""


def order_row(row: Any) -> dict[str, Any]:
    """A database row as the order dictionary the services and the API share."""
    out = dict(row)
    for key in ("id", "practice_id", "lab_id", "remake_of"):
        if out.get(key) is not None:
            out[key] = str(out[key])
    return out


async def insert(conn: Conn, order: dict[str, Any], created_by: str | None, now: datetime) -> None:
    await conn.execute(
        INSERT_ORDER,
        order["id"],
        order["order_number"],
        order["practice_id"],
        order["lab_id"],
        order["patient_ref"],
        order["due_date"],
        order["priority"],
        order["rx"],
        order["rx_minus_cyl"],
        order["lens"],
        order["frame"],
        order["clinical_notes"],
        order["warnings"],
        order.get("remake_of"),
        created_by,
        now,
    )


async def get_visible(
    conn: Conn, order_id: str, tenant_id: str, for_update: bool = False
) -> dict[str, Any] | None:
    sql = SELECT_VISIBLE_FOR_UPDATE if for_update else SELECT_VISIBLE
    row = await conn.fetchrow(sql, order_id, tenant_id)
    return order_row(row) if row else None


async def update_status(
    conn: Conn,
    order_id: str,
    status: str,
    held_from: str | None,
    station: str | None,
    delivered_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    row = await conn.fetchrow(
        UPDATE_STATUS, order_id, status, held_from, station, delivered_at, now
    )
    return order_row(row)


def encode_cursor(created_at: datetime, order_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError on anything that is not a cursor this module made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    created, order_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    return datetime.fromisoformat(created), str(order_id)


async def page(
    conn: Conn,
    tenant_id: str,
    *,
    status: str | None,
    station: str | None,
    practice_id: str | None,
    updated_since: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    after_at, after_id = after if after else (None, None)
    rows = await conn.fetch(
        SELECT_PAGE,
        tenant_id,
        status,
        station,
        practice_id,
        updated_since,
        after_at,
        after_id,
        limit,
    )
    return [order_row(r) for r in rows]


async def claim_idempotency_key(
    conn: Conn, tenant_id: str, scope: str, key: str, request_hash: bytes, now: datetime
) -> dict[str, Any] | None:
    """Claim the key inside the caller's transaction; if it was used, return its record."""
    claimed = await conn.fetchval(CLAIM_KEY, tenant_id, scope, key, request_hash, now)
    if claimed is not None:
        return None
    row = await conn.fetchrow(SELECT_KEY, tenant_id, scope, key)
    return dict(row) if row else None


async def store_idempotent_response(
    conn: Conn, tenant_id: str, scope: str, key: str, status: int, response: Any
) -> None:
    await conn.execute(STORE_RESPONSE, tenant_id, scope, key, status, response)


async def enqueue(
    conn: Conn, lab_id: str, order_id: str, kind: str, payload: dict[str, Any], now: datetime
) -> None:
    await conn.execute(INSERT_OUTBOX, lab_id, order_id, kind, payload, now)


async def resubmit(conn: Conn, lab_id: str, order_id: str, now: datetime) -> bool:
    """Queue the order for the LIMS again unless a submission is already waiting."""
    return await conn.fetchval(RESUBMIT, lab_id, order_id, now) is not None


async def insert_issue(conn: Conn, issue: dict[str, Any]) -> None:
    await conn.execute(
        INSERT_ISSUE,
        issue["id"],
        issue["order_id"],
        issue["practice_id"],
        issue["lab_id"],
        issue["kind"],
        issue["category"],
        issue["reason"],
        issue["symptoms"],
        issue["notes"],
        issue["within_warranty"],
        issue["remake_order_id"],
        issue["created_by"],
        issue["created_at"],
    )
