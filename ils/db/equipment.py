"""The equipment registry of a lab and its failure / maintenance / repair events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn

EQUIPMENT_COLUMNS = "id, station, kind, metrics, registered_at"
INSERT_EQUIPMENT = """
INSERT INTO equipment (lab_id, id, station, kind, metrics, registered_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (lab_id, id) DO NOTHING RETURNING id
"""
SELECT_EQUIPMENT = f"SELECT {EQUIPMENT_COLUMNS} FROM equipment WHERE lab_id = $1 ORDER BY id"
SELECT_ONE = f"SELECT {EQUIPMENT_COLUMNS} FROM equipment WHERE lab_id = $1 AND id = $2"
INSERT_EVENT = """
INSERT INTO equipment_events (id, lab_id, equipment_id, type, at, recorded_by, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
SELECT_EVENTS = """
SELECT equipment_id, type, at FROM equipment_events WHERE lab_id = $1 ORDER BY at, id
"""
SELECT_MACHINE_EVENTS = """
SELECT equipment_id, type, at FROM equipment_events
WHERE lab_id = $1 AND equipment_id = $2 ORDER BY at, id
"""


def equipment_row(row: Any) -> dict[str, Any]:
    return {**dict(row), "metrics": list(row["metrics"])}


async def insert(conn: Conn, lab_id: str, row: dict[str, Any]) -> bool:
    """False when the lab already has equipment with that id (nothing is written)."""
    created = await conn.fetchval(
        INSERT_EQUIPMENT,
        lab_id,
        row["id"],
        row["station"],
        row["kind"],
        row["metrics"],
        row["registered_at"],
    )
    return created is not None


async def all_equipment(conn: Conn, lab_id: str) -> list[dict[str, Any]]:
    return [equipment_row(r) for r in await conn.fetch(SELECT_EQUIPMENT, lab_id)]


async def one(conn: Conn, lab_id: str, equipment_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_ONE, lab_id, equipment_id)
    return None if row is None else equipment_row(row)


async def add_event(
    conn: Conn,
    event_id: str,
    lab_id: str,
    equipment_id: str,
    type_: str,
    at: datetime,
    by: str | None,
    now: datetime,
) -> None:
    await conn.execute(INSERT_EVENT, event_id, lab_id, equipment_id, type_, at, by, now)


async def events(conn: Conn, lab_id: str, equipment_id: str | None = None) -> list[dict[str, Any]]:
    """A lab's equipment events (or one machine's), oldest first."""
    if equipment_id is None:
        return [dict(r) for r in await conn.fetch(SELECT_EVENTS, lab_id)]
    return [dict(r) for r in await conn.fetch(SELECT_MACHINE_EVENTS, lab_id, equipment_id)]
