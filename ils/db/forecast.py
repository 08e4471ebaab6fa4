"""Demand history of a lab: imported days, live order counts, the lens mix, forecast settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ils.db.database import Conn

DELETE_IMPORTED = "DELETE FROM demand_history WHERE lab_id = $1"
INSERT_IMPORTED = """
INSERT INTO demand_history (lab_id, day, orders, imported_at)
SELECT $1, day, orders, $4 FROM unnest($2::date[], $3::integer[]) AS t(day, orders)
"""
SELECT_IMPORTED = """
SELECT day, orders, imported_at FROM demand_history WHERE lab_id = $1 ORDER BY day
"""
# Live intake: every order the lab received, by UTC calendar day of its creation, before $2.
SELECT_LIVE_COUNTS = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS orders
FROM orders WHERE lab_id = $1 AND created_at < $2
GROUP BY 1 ORDER BY 1
"""
SELECT_LENS_MIX = """
SELECT coalesce(lens->>'type', 'unknown') AS lens_type,
       count(*) AS orders,
       count(*) FILTER (WHERE lens->'coatings' ? 'ar') AS ar,
       count(*) FILTER (WHERE lens->'coatings' ? 'tint') AS tint
FROM orders WHERE lab_id = $1 AND created_at >= $2
GROUP BY 1
"""
SELECT_SETTINGS = "SELECT kind, settings FROM tenants WHERE id = $1"
MERGE_SETTINGS = """
UPDATE tenants SET settings = settings || $2::jsonb WHERE id = $1 RETURNING settings
"""


@dataclass(frozen=True)
class ImportedHistory:
    days: list[tuple[date, int]]
    imported_at: datetime | None


@dataclass(frozen=True)
class LensTypeCount:
    lens_type: str
    orders: int
    ar: int
    tint: int


async def replace_imported(
    conn: Conn, lab_id: str, days: list[tuple[date, int]], now: datetime
) -> None:
    """Replace the lab's whole imported history with ``days`` (a PUT is idempotent)."""
    await conn.execute(DELETE_IMPORTED, lab_id)
    await conn.execute(INSERT_IMPORTED, lab_id, [d for d, _ in days], [n for _, n in days], now)


async def imported(conn: Conn, lab_id: str) -> ImportedHistory:
    rows = await conn.fetch(SELECT_IMPORTED, lab_id)
    stamp = max((r["imported_at"] for r in rows), default=None)
    return ImportedHistory([(r["day"], int(r["orders"])) for r in rows], stamp)


async def live_counts(conn: Conn, lab_id: str, before: datetime) -> list[tuple[date, int]]:
    """Orders the lab received per UTC day, for days with at least one order before ``before``."""
    rows = await conn.fetch(SELECT_LIVE_COUNTS, lab_id, before)
    return [(r["day"], int(r["orders"])) for r in rows]


async def lens_mix(conn: Conn, lab_id: str, since: datetime) -> list[LensTypeCount]:
    rows = await conn.fetch(SELECT_LENS_MIX, lab_id, since)
    return [
        LensTypeCount(r["lens_type"], int(r["orders"]), int(r["ar"]), int(r["tint"])) for r in rows
    ]


async def tenant_settings(conn: Conn, tenant_id: str) -> tuple[str, dict[str, Any]] | None:
    """(kind, settings) of a tenant, or None when it does not exist."""
    row = await conn.fetchrow(SELECT_SETTINGS, tenant_id)
    return None if row is None else (row["kind"], dict(row["settings"] or {}))


async def merge_settings(conn: Conn, tenant_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Set top-level keys of the tenant's settings, keeping the others."""
    settings = await conn.fetchval(MERGE_SETTINGS, tenant_id, changes)
    return dict(settings or {})
