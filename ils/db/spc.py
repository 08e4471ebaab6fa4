"""Control points, their plotted measurements, and the process alerts their rules raise."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ils.db.database import Conn

POINT_COLUMNS = """
id, lab_id, name, station, unit, lsl, usl, target, chart, subgroup_size, limits, created_at
"""
INSERT_POINT = """
INSERT INTO control_points (id, lab_id, name, station, unit, lsl, usl, target, chart,
    subgroup_size, limits, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (lab_id, name) DO NOTHING RETURNING id
"""
SELECT_POINT = f"SELECT {POINT_COLUMNS} FROM control_points WHERE id = $1 AND lab_id = $2"
SELECT_POINT_FOR_UPDATE = SELECT_POINT + " FOR UPDATE"
SELECT_POINTS = f"SELECT {POINT_COLUMNS} FROM control_points WHERE lab_id = $1 ORDER BY name"
UPDATE_LIMITS = "UPDATE control_points SET limits = $2 WHERE id = $1"
INSERT_MEASUREMENTS = """
INSERT INTO control_measurements (control_point_id, value, spread, raw, measured_at)
SELECT $1, m.value, m.spread, m.raw::jsonb, m.measured_at
FROM unnest($2::float8[], $3::float8[], $4::text[], $5::timestamptz[])
    WITH ORDINALITY AS m(value, spread, raw, measured_at, k)
ORDER BY m.k
RETURNING id, value, spread, raw, measured_at
"""
SELECT_RECENT = """
SELECT id, value, spread, raw, measured_at FROM (
    SELECT id, value, spread, raw, measured_at FROM control_measurements
    WHERE control_point_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3
) r ORDER BY id
"""
SELECT_MEASUREMENTS = """
SELECT id, value, spread, raw, measured_at FROM (
    SELECT id, value, spread, raw, measured_at FROM control_measurements
    WHERE control_point_id = $1 ORDER BY id DESC LIMIT $2
) r ORDER BY id
"""
INSERT_ALERT = """
INSERT INTO alerts (id, tenant_id, kind, severity, subject, detected_at, evidence, status,
    dedupe_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING id
"""


def point_row(row: Any) -> dict[str, Any]:
    return {**dict(row), "id": str(row["id"]), "lab_id": str(row["lab_id"])}


async def insert_point(conn: Conn, row: dict[str, Any]) -> bool:
    """False when the lab already has a control point of that name."""
    created = await conn.fetchval(
        INSERT_POINT,
        row["id"],
        row["lab_id"],
        row["name"],
        row["station"],
        row["unit"],
        row["lsl"],
        row["usl"],
        row["target"],
        row["chart"],
        row["subgroup_size"],
        row["limits"],
        row["created_at"],
    )
    return created is not None


async def get_point(
    conn: Conn, point_id: str, lab_id: str, for_update: bool = False
) -> dict[str, Any] | None:
    sql = SELECT_POINT_FOR_UPDATE if for_update else SELECT_POINT
    row = await conn.fetchrow(sql, point_id, lab_id)
    return None if row is None else point_row(row)


async def points(conn: Conn, lab_id: str) -> list[dict[str, Any]]:
    return [point_row(r) for r in await conn.fetch(SELECT_POINTS, lab_id)]


async def set_limits(conn: Conn, point_id: str, limits: dict[str, Any]) -> None:
    await conn.execute(UPDATE_LIMITS, point_id, limits)


async def add_measurements(
    conn: Conn, point_id: str, rows: list[tuple[float, float | None, Any, datetime]]
) -> list[dict[str, Any]]:
    """Store plotted points in order; returns them with their ids (ascending)."""
    stored = await conn.fetch(
        INSERT_MEASUREMENTS,
        point_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [json.dumps(r[2]) for r in rows],  # text: a list would read as an array dimension
        [r[3] for r in rows],
    )
    return [dict(r) for r in stored]


async def recent(conn: Conn, point_id: str, before_id: int, count: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_RECENT, point_id, before_id, count)]


async def measurements(conn: Conn, point_id: str, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_MEASUREMENTS, point_id, limit)]


async def insert_alert(conn: Conn, alert: dict[str, Any]) -> bool:
    """False when an alert with the same de-duplication key exists (nothing is written)."""
    created = await conn.fetchval(
        INSERT_ALERT,
        alert["id"],
        alert["tenant_id"],
        alert["kind"],
        alert["severity"],
        alert["subject"],
        alert["detected_at"],
        alert["evidence"],
        alert["dedupe_key"],
    )
    return created is not None
