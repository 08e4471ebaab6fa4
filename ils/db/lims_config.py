"""Each lab's LIMS connection (``lab_lims``): base URL, sealed key and the breaker snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn

UPSERT = """
INSERT INTO lab_lims (lab_id, base_url, api_key_sealed, updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (lab_id) DO UPDATE SET base_url = EXCLUDED.base_url,
    api_key_sealed = EXCLUDED.api_key_sealed, updated_by = EXCLUDED.updated_by,
    updated_at = EXCLUDED.updated_at, breaker = '{}'::jsonb, last_error = NULL,
    last_error_at = NULL, version = lab_lims.version + 1
RETURNING lab_id, base_url, breaker, last_error, last_error_at, updated_at, version
"""
SELECT_ONE = """
SELECT lab_id, base_url, api_key_sealed, breaker, last_error, last_error_at, updated_at, version
FROM lab_lims WHERE lab_id = $1
"""
SAVE_BREAKER = """
UPDATE lab_lims SET breaker = $3, last_error = COALESCE($4, last_error),
    last_error_at = COALESCE($5, last_error_at)
WHERE lab_id = $1 AND version = $2
"""


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["lab_id"] = str(out["lab_id"])
    return out


async def upsert(
    conn: Conn, lab_id: str, base_url: str, sealed_key: str, user_id: str | None, now: datetime
) -> dict[str, Any]:
    return _row(await conn.fetchrow(UPSERT, lab_id, base_url, sealed_key, user_id, now))


async def get(conn: Conn, lab_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_ONE, lab_id)
    return _row(row) if row else None


async def save_breaker(
    conn: Conn,
    lab_id: str,
    version: int,
    breaker: dict[str, Any],
    last_error: str | None,
    last_error_at: datetime | None,
) -> None:
    """Save the breaker of the configuration ``version`` it belongs to (a newer one resets it)."""
    await conn.execute(SAVE_BREAKER, lab_id, version, breaker, last_error, last_error_at)
