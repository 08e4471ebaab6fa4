"""Inspections, QA failures, root-cause analyses and their corrective actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn

INSERT_INSPECTION = """
INSERT INTO qc_inspections (id, lab_id, order_id, source, measured, lims_pass, pass, fields,
    inspected_by, inspected_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
INSERT_FAILURE = """
INSERT INTO qa_failures (id, lab_id, order_id, inspection_id, station, equipment_id, reason,
    details, created_by, created_at, lims_inspection_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""
FAILURE_COLUMNS = """
id, lab_id, order_id, inspection_id, station, equipment_id, reason, details, created_at,
lims_inspection_id
"""
SELECT_FAILURE = f"SELECT {FAILURE_COLUMNS} FROM qa_failures WHERE id = $1 AND lab_id = $2"
SELECT_FAILURES_PAGE = f"""
SELECT {FAILURE_COLUMNS} FROM qa_failures
WHERE lab_id = $1
  AND ($2::text IS NULL OR station = $2)
  AND ($3::uuid IS NULL OR order_id = $3)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $6
"""
SELECT_FAILURES_IN = f"""
SELECT {FAILURE_COLUMNS} FROM qa_failures WHERE lab_id = $1 AND id = ANY($2::uuid[])
"""
RCA_COLUMNS = """
id, lab_id, title, category, status, description, root_cause, created_at, updated_at, version
"""
INSERT_RCA = """
INSERT INTO rca_records (id, lab_id, title, category, status, description, root_cause,
    created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'open', $5, NULL, $6, $7, $7)
"""
SELECT_RCA = f"SELECT {RCA_COLUMNS} FROM rca_records WHERE id = $1 AND lab_id = $2"
SELECT_RCA_FOR_UPDATE = SELECT_RCA + " FOR UPDATE"
SELECT_RCA_PAGE = f"""
SELECT {RCA_COLUMNS} FROM rca_records
WHERE lab_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""
UPDATE_RCA = f"""
UPDATE rca_records SET status = $2, root_cause = COALESCE($3, root_cause), updated_at = $4,
    version = version + 1
WHERE id = $1 RETURNING {RCA_COLUMNS}
"""
LINK_FAILURES = """
INSERT INTO rca_failures (rca_id, failure_id)
SELECT $1, f FROM unnest($2::uuid[]) AS f ON CONFLICT DO NOTHING
"""
SELECT_RCA_FAILURES = "SELECT failure_id FROM rca_failures WHERE rca_id = $1 ORDER BY failure_id"
INSERT_ACTION = """
INSERT INTO corrective_actions (id, rca_id, lab_id, description, owner, due_date, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
SELECT_ACTIONS = """
SELECT id, description, owner, due_date, created_at FROM corrective_actions
WHERE rca_id = $1 ORDER BY created_at, id
"""


def _strings(row: Any, *keys: str) -> dict[str, Any]:
    out = dict(row)
    for key in keys:
        if out.get(key) is not None:
            out[key] = str(out[key])
    return out


async def insert_inspection(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        INSERT_INSPECTION,
        row["id"],
        row["lab_id"],
        row["order_id"],
        row["source"],
        row["measured"],
        row["lims_pass"],
        row["pass"],
        row["fields"],
        row["inspected_by"],
        row["inspected_at"],
    )


async def insert_failure(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        INSERT_FAILURE,
        row["id"],
        row["lab_id"],
        row["order_id"],
        row["inspection_id"],
        row["station"],
        row["equipment_id"],
        row["reason"],
        row["details"],
        row["created_by"],
        row["created_at"],
        row.get("lims_inspection_id"),
    )


def failure_row(row: Any) -> dict[str, Any]:
    return _strings(row, "id", "lab_id", "order_id", "inspection_id", "lims_inspection_id")


async def get_failure(conn: Conn, failure_id: str, lab_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_FAILURE, failure_id, lab_id)
    return None if row is None else failure_row(row)


async def failures_page(
    conn: Conn,
    lab_id: str,
    station: str | None,
    order_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    at, last_id = after if after else (None, None)
    rows = await conn.fetch(SELECT_FAILURES_PAGE, lab_id, station, order_id, at, last_id, limit)
    return [failure_row(r) for r in rows]


async def existing_failures(conn: Conn, lab_id: str, ids: list[str]) -> set[str]:
    return {str(r["id"]) for r in await conn.fetch(SELECT_FAILURES_IN, lab_id, ids)}


def rca_row(row: Any) -> dict[str, Any]:
    return _strings(row, "id", "lab_id")


async def insert_rca(conn: Conn, row: dict[str, Any], created_by: str, now: datetime) -> None:
    await conn.execute(
        INSERT_RCA,
        row["id"],
        row["lab_id"],
        row["title"],
        row["category"],
        row["description"],
        created_by,
        now,
    )


async def get_rca(
    conn: Conn, rca_id: str, lab_id: str, for_update: bool = False
) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_RCA_FOR_UPDATE if for_update else SELECT_RCA, rca_id, lab_id)
    return None if row is None else rca_row(row)


async def rca_page(
    conn: Conn, lab_id: str, status: str | None, after: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    at, last_id = after if after else (None, None)
    rows = await conn.fetch(SELECT_RCA_PAGE, lab_id, status, at, last_id, limit)
    return [rca_row(r) for r in rows]


async def update_rca(
    conn: Conn, rca_id: str, status: str, root_cause: str | None, now: datetime
) -> dict[str, Any]:
    return rca_row(await conn.fetchrow(UPDATE_RCA, rca_id, status, root_cause, now))


async def link_failures(conn: Conn, rca_id: str, failure_ids: list[str]) -> None:
    await conn.execute(LINK_FAILURES, rca_id, failure_ids)


async def rca_failures(conn: Conn, rca_id: str) -> list[str]:
    return [str(r["failure_id"]) for r in await conn.fetch(SELECT_RCA_FAILURES, rca_id)]


async def insert_action(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        INSERT_ACTION,
        row["id"],
        row["rca_id"],
        row["lab_id"],
        row["description"],
        row["owner"],
        row["due_date"],
        row["created_at"],
    )


async def actions(conn: Conn, rca_id: str) -> list[dict[str, Any]]:
    return [_strings(r, "id") for r in await conn.fetch(SELECT_ACTIONS, rca_id)]
