"""LIMS inbound: webhook event claims (de-duplication), order positions, breakages, inspections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn
from ils.db.orders import ORDER_COLUMNS, order_row

LOCK_LAB_ORDERS = f"""
SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY($1::uuid[]) AND lab_id = $2
ORDER BY id FOR UPDATE
"""
CLAIM_EVENTS = """
INSERT INTO lims_webhook_events (lab_id, event_id, type, job_id, order_id, sequence, occurred_at,
    received_at, outcome, data)
SELECT $1, e.event_id, e.type, e.job_id, e.order_id, e.sequence, e.occurred_at, $2, e.outcome,
    e.data
FROM unnest($3::text[], $4::text[], $5::text[], $6::uuid[], $7::bigint[], $8::timestamptz[],
    $9::text[], $10::jsonb[]) AS e(event_id, type, job_id, order_id, sequence, occurred_at,
    outcome, data)
ON CONFLICT (lab_id, event_id) DO NOTHING
RETURNING event_id
"""
SET_OUTCOMES = """
UPDATE lims_webhook_events e SET outcome = u.outcome
FROM unnest($2::text[], $3::text[]) AS u(event_id, outcome)
WHERE e.lab_id = $1 AND e.event_id = u.event_id
"""
UPDATE_POSITIONS = """
UPDATE orders o SET status = u.status, held_from = u.held_from, station = u.station,
    lims_sequence = u.sequence, lims_job_id = COALESCE(o.lims_job_id, u.job_id),
    delivered_at = COALESCE(o.delivered_at, u.delivered_at), updated_at = u.updated_at,
    version = u.version
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
    $7::timestamptz[], $8::timestamptz[], $9::int[])
    AS u(id, status, held_from, station, sequence, job_id, delivered_at, updated_at, version)
WHERE o.id = u.id
"""
INSERT_BREAKAGES = """
INSERT INTO breakages (id, lab_id, order_id, job_id, event_id, station, reason_code, shift,
    restart_station, occurred_at)
SELECT b.id, $1, b.order_id, b.job_id, b.event_id, b.station, b.reason_code, b.shift,
    b.restart_station, b.occurred_at
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::timestamptz[])
    AS b(id, order_id, job_id, event_id, station, reason_code, shift, restart_station, occurred_at)
"""
INSERT_INSPECTIONS = """
INSERT INTO lims_inspections (id, lab_id, order_id, job_id, event_id, measured, lims_pass,
    ils_pass, verdict, occurred_at)
SELECT i.id, $1, i.order_id, i.job_id, i.event_id, i.measured, i.lims_pass, i.ils_pass,
    i.verdict, i.occurred_at
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::bool[], $8::bool[],
    $9::jsonb[], $10::timestamptz[])
    AS i(id, order_id, job_id, event_id, measured, lims_pass, ils_pass, verdict, occurred_at)
"""
SELECT_BREAKAGES = """
SELECT id, order_id, job_id, event_id, station, reason_code, shift, restart_station, occurred_at
FROM breakages WHERE lab_id = $1 AND order_id = $2 ORDER BY occurred_at, event_id
"""
SELECT_INSPECTIONS = """
SELECT id, order_id, job_id, event_id, measured, lims_pass, ils_pass, verdict, occurred_at
FROM lims_inspections WHERE lab_id = $1 AND order_id = $2 ORDER BY occurred_at, event_id
"""
COUNT_EVENTS = "SELECT count(*) FROM lims_webhook_events WHERE lab_id = $1"


def _columns(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[list[Any]]:
    return [[row[k] for row in rows] for k in keys]


async def lock_lab_orders(
    conn: Conn, lab_id: str, order_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The lab's orders among ``order_ids``, locked in id order (another lab's are absent)."""
    rows = await conn.fetch(LOCK_LAB_ORDERS, sorted(set(order_ids)), lab_id)
    return {str(r["id"]): order_row(r) for r in rows}


CLAIM_KEYS = (
    "event_id",
    "type",
    "job_id",
    "order_id",
    "sequence",
    "occurred_at",
    "outcome",
    "data",
)


async def claim_events(
    conn: Conn, lab_id: str, received_at: datetime, events: list[dict[str, Any]]
) -> set[str]:
    """Insert the events' de-duplication rows (with their outcome); the ids that were new."""
    if not events:
        return set()
    rows = await conn.fetch(CLAIM_EVENTS, lab_id, received_at, *_columns(events, CLAIM_KEYS))
    return {r["event_id"] for r in rows}


async def set_outcomes(conn: Conn, lab_id: str, outcomes: list[tuple[str, str]]) -> None:
    if outcomes:
        ids, values = zip(*outcomes, strict=True)
        await conn.execute(SET_OUTCOMES, lab_id, list(ids), list(values))


POSITION_KEYS = (
    "id",
    "status",
    "held_from",
    "station",
    "lims_sequence",
    "lims_job_id",
    "delivered_at",
    "updated_at",
    "version",
)


async def update_positions(conn: Conn, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(UPDATE_POSITIONS, *_columns(rows, POSITION_KEYS))


BREAKAGE_KEYS = (
    "id",
    "order_id",
    "job_id",
    "event_id",
    "station",
    "reason_code",
    "shift",
    "restart_station",
    "occurred_at",
)
INSPECTION_KEYS = (
    "id",
    "order_id",
    "job_id",
    "event_id",
    "measured",
    "lims_pass",
    "ils_pass",
    "verdict",
    "occurred_at",
)


async def insert_breakages(conn: Conn, lab_id: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(INSERT_BREAKAGES, lab_id, *_columns(rows, BREAKAGE_KEYS))


async def insert_inspections(conn: Conn, lab_id: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(INSERT_INSPECTIONS, lab_id, *_columns(rows, INSPECTION_KEYS))


def _record(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("id", "order_id"):
        out[key] = str(out[key])
    return out


async def breakages_of(conn: Conn, lab_id: str, order_id: str) -> list[dict[str, Any]]:
    return [_record(r) for r in await conn.fetch(SELECT_BREAKAGES, lab_id, order_id)]


async def inspections_of(conn: Conn, lab_id: str, order_id: str) -> list[dict[str, Any]]:
    return [_record(r) for r in await conn.fetch(SELECT_INSPECTIONS, lab_id, order_id)]


async def count_events(conn: Conn, lab_id: str) -> int:
    return int(await conn.fetchval(COUNT_EVENTS, lab_id))
