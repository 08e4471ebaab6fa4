"""Alerts of every kind (the table SPC shares): live de-duplication, listing, ack and resolve.

Anomaly alerts carry a ``live_key`` (``kind|subject``) while open or acknowledged: a unique partial
index makes a second live alert for the same subject impossible, so a finding either opens an alert
or folds into the live one (``upsert_live``), even when two batches race. Resolving clears the key.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from ils.db.database import Conn

ALERT_COLUMNS = """
id, kind, severity, subject, detected_at, evidence, status, last_seen_at, occurrences,
acknowledged_at, resolved_at
"""
UPSERT_LIVE = f"""
INSERT INTO alerts (id, tenant_id, kind, severity, subject, detected_at, evidence, status,
    dedupe_key, live_key, last_seen_at, occurrences)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $11, $8, $9, $10)
ON CONFLICT (tenant_id, live_key) WHERE live_key IS NOT NULL DO UPDATE SET
    severity = CASE
        WHEN array_position(ARRAY['info', 'warning', 'critical'], EXCLUDED.severity)
           > coalesce(array_position(ARRAY['info', 'warning', 'critical'], alerts.severity), 0)
        THEN EXCLUDED.severity ELSE alerts.severity END,
    evidence = EXCLUDED.evidence,
    last_seen_at = greatest(alerts.last_seen_at, EXCLUDED.last_seen_at),
    occurrences = alerts.occurrences + EXCLUDED.occurrences
RETURNING {ALERT_COLUMNS}, (xmax = 0) AS created
"""
SELECT_ONE = f"SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
UPDATE_STATUS = f"""
UPDATE alerts SET status = $3,
    acknowledged_at = CASE WHEN $3 = 'acknowledged' THEN $4 ELSE acknowledged_at END,
    resolved_at = CASE WHEN $3 = 'resolved' THEN $4 ELSE resolved_at END,
    live_key = CASE WHEN $3 = 'resolved' THEN NULL ELSE live_key END,
    updated_by = $5
WHERE tenant_id = $1 AND id = $2
RETURNING {ALERT_COLUMNS}
"""
SELECT_PAGE = f"""
SELECT {ALERT_COLUMNS} FROM alerts
WHERE tenant_id = $1
  AND ($2::text IS NULL OR kind = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::timestamptz IS NULL OR detected_at >= $4)
  AND ($5::timestamptz IS NULL OR (detected_at, id) < ($5, $6::uuid))
ORDER BY detected_at DESC, id DESC LIMIT $7
"""


def alert_row(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in ALERT_COLUMNS.replace("\n", " ").replace(",", " ").split()}
    out["id"] = str(row["id"])
    return out


async def upsert_live(
    conn: Conn, tenant_id: str, alert: dict[str, Any], occurrences: int
) -> tuple[dict[str, Any], bool]:
    """Open ``alert`` or fold it into the subject's live alert; (the stored alert, created)."""
    row = await conn.fetchrow(
        UPSERT_LIVE,
        alert["id"],
        tenant_id,
        alert["kind"],
        alert["severity"],
        alert["subject"],
        alert["detected_at"],
        alert["evidence"],
        f"{alert['kind']}|{alert['subject']}",
        alert["last_seen_at"],
        occurrences,
        f"anomaly:{alert['id']}",
    )
    return alert_row(row), bool(row["created"])


async def for_update(conn: Conn, tenant_id: str, alert_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_ONE, tenant_id, alert_id)
    return None if row is None else alert_row(row)


async def set_status(
    conn: Conn, tenant_id: str, alert_id: str, status: str, now: datetime, by: str | None
) -> dict[str, Any]:
    return alert_row(await conn.fetchrow(UPDATE_STATUS, tenant_id, alert_id, status, now, by))


async def page(
    conn: Conn,
    tenant_id: str,
    *,
    kind: str | None,
    status: str | None,
    since: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first; ``after`` is the (detected_at, id) of the last alert of the previous page."""
    rows = await conn.fetch(
        SELECT_PAGE,
        tenant_id,
        kind,
        status,
        since,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [alert_row(r) for r in rows]


def encode_cursor(detected_at: datetime, alert_id: str) -> str:
    raw = json.dumps([detected_at.isoformat(), alert_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError (or TypeError) on anything that is not a cursor this module made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    detected, alert_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    return datetime.fromisoformat(detected), str(uuid.UUID(str(alert_id)))
