"""Station history (movements) and station resources of a lab."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ils.db.database import Conn
from ils.domain.lims_event import Movement

INSERT_MOVEMENTS = """
INSERT INTO station_movements (lab_id, station, job_id, status, sequence, occurred_at)
SELECT $1, m.station, m.job_id, m.status, m.sequence, m.occurred_at
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[])
    AS m(station, job_id, status, sequence, occurred_at)
"""
#: A station's history in commit order, over the look-back window before its latest movement.
SELECT_MOVEMENTS = """
SELECT station, job_id, status, sequence, occurred_at FROM station_movements
WHERE lab_id = $1 AND station = $2
  AND occurred_at >= (SELECT max(occurred_at) FROM station_movements
                      WHERE lab_id = $1 AND station = $2) - make_interval(secs => $3)
ORDER BY n
"""
#: The newest movement's number of a station (0 when it has none).
SELECT_LAST_MOVEMENT = """
SELECT coalesce(max(n), 0) FROM station_movements WHERE lab_id = $1 AND station = $2
"""
#: A station's movements numbered after ``$3``, in number order.
SELECT_MOVEMENTS_AFTER = """
SELECT n, station, job_id, status, sequence, occurred_at FROM station_movements
WHERE lab_id = $1 AND station = $2 AND n > $3
ORDER BY n
"""
UPSERT_RESOURCES = """
INSERT INTO station_resources (lab_id, station, staff, machines, cross_trained, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (lab_id, station) DO UPDATE SET staff = EXCLUDED.staff,
    machines = EXCLUDED.machines, cross_trained = EXCLUDED.cross_trained,
    updated_at = EXCLUDED.updated_at
"""
SELECT_RESOURCES = """
SELECT station, staff, machines, cross_trained, updated_at FROM station_resources
WHERE lab_id = $1 ORDER BY station
"""
SELECT_STATION_RESOURCES = """
SELECT station, staff, machines, cross_trained, updated_at FROM station_resources
WHERE lab_id = $1 AND station = $2
"""


async def insert_movements(conn: Conn, lab_id: str, moves: Sequence[Movement]) -> None:
    if not moves:
        return
    await conn.execute(
        INSERT_MOVEMENTS,
        lab_id,
        [str(m.station) for m in moves],
        [m.job_id for m in moves],
        [m.status for m in moves],
        [m.sequence for m in moves],
        [m.occurred_at for m in moves],
    )


async def movements(
    conn: Conn, lab_id: str, station: str, lookback_s: float
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_MOVEMENTS, lab_id, station, lookback_s)]


async def last_movement(conn: Conn, lab_id: str, station: str) -> int:
    return int(await conn.fetchval(SELECT_LAST_MOVEMENT, lab_id, station))


async def movements_after(
    conn: Conn, lab_id: str, station: str, after: int
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_MOVEMENTS_AFTER, lab_id, station, after)]


async def upsert_resources(
    conn: Conn,
    lab_id: str,
    station: str,
    staff: int,
    machines: int,
    cross_trained: list[str],
    now: datetime,
) -> None:
    await conn.execute(UPSERT_RESOURCES, lab_id, station, staff, machines, cross_trained, now)


async def resources(conn: Conn, lab_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_RESOURCES, lab_id)]


async def station_resources(conn: Conn, lab_id: str, station: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_STATION_RESOURCES, lab_id, station)
    return dict(row) if row else None
