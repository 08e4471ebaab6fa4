"""The metrics API's data: each order's facts, the lab's daily sums, and how far they are current.

``order_facts`` holds ``ils.analytics.order_facts.to_record`` of every order of a lab;
``lab_day_sums`` the sum of their contributions per (day, metric, key); ``lab_figure_heads`` the
seq of the lab's log up to which both are current. The service brings them up to date from the
committed log (the orders its later events name) under the head row's lock, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ils.analytics.kpi import Breakage
from ils.analytics.order_facts import OrderFacts, Sums, booked, from_record, to_record
from ils.db.database import Conn
from ils.db.metrics import OUTCOME_JOINS

UNSPECIFIED = "unspecified"

SELECT_POSITION = """
SELECT h.last_seq AS head, f.seq AS seq
FROM tenant_heads h LEFT JOIN lab_figure_heads f ON f.lab_id = h.tenant_id
WHERE h.tenant_id = $1
"""
INSERT_FIGURE_HEAD = """
INSERT INTO lab_figure_heads (lab_id, seq, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (lab_id) DO NOTHING
"""
LOCK_FIGURE_HEAD = "SELECT seq FROM lab_figure_heads WHERE lab_id = $1 FOR UPDATE"
SET_FIGURE_HEAD = "UPDATE lab_figure_heads SET seq = $2, updated_at = $3 WHERE lab_id = $1"
SELECT_HEAD = "SELECT last_seq FROM tenant_heads WHERE tenant_id = $1"
SELECT_BEHIND = """
SELECT h.tenant_id::text AS lab_id
FROM tenant_heads h
JOIN tenants t ON t.id = h.tenant_id AND t.kind = 'lab'
LEFT JOIN lab_figure_heads f ON f.lab_id = h.tenant_id
WHERE h.last_seq > coalesce(f.seq, -1)
ORDER BY h.tenant_id
"""
SELECT_TOUCHED = """
WITH touched AS (
    SELECT DISTINCT order_id AS id FROM events
    WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 AND order_id IS NOT NULL
)
SELECT id FROM touched
UNION
SELECT o.remake_of FROM orders o JOIN touched t ON t.id = o.id
WHERE o.lab_id = $1 AND o.remake_of IS NOT NULL
"""
SELECT_LAB_ORDERS = "SELECT id FROM orders WHERE lab_id = $1 ORDER BY id"
# What became of each order (``OUTCOME_JOINS``) and its job's station history (labour, passes).
SELECT_RAW_FACTS = (
    """
SELECT o.id, o.practice_id, o.created_at, o.lens ->> 'type' AS lens_type,
       o.lens ->> 'design' AS design, o.lens ->> 'material' AS material, o.due_date,
       o.remake_of, s.shipped_at, s.cancelled_at, fp.pass AS first_pass, bk.breakages,
       rm.category AS remake_category, coalesce(na.non_adapt, false) AS non_adapt, mv.movements
FROM orders o
"""
    + OUTCOME_JOINS
    + """LEFT JOIN LATERAL (
    SELECT array_agg(ARRAY[m.station, m.status, extract(epoch FROM m.occurred_at)::text]
                     ORDER BY m.n) AS movements
    FROM station_movements m
    WHERE m.lab_id = $1 AND m.job_id = o.lims_job_id AND m.status IN ('in_process', 'done')
) mv ON true
WHERE o.lab_id = $1 AND o.id = ANY($2::uuid[])
"""
)
SELECT_STORED_FACTS = """
SELECT order_id, facts FROM order_facts WHERE lab_id = $1 AND order_id = ANY($2::uuid[])
"""
UPSERT_FACTS = """
INSERT INTO order_facts (lab_id, order_id, facts)
SELECT $1, f.order_id, f.facts FROM unnest($2::uuid[], $3::jsonb[]) AS f(order_id, facts)
ON CONFLICT (lab_id, order_id) DO UPDATE SET facts = EXCLUDED.facts
"""
ADD_SUMS = """
INSERT INTO lab_day_sums (lab_id, day, metric, key, amount)
SELECT $1, d.day, d.metric, d.key, d.amount
FROM unnest($2::date[], $3::text[], $4::text[], $5::numeric[]) AS d(day, metric, key, amount)
ON CONFLICT (lab_id, day, metric, key) DO UPDATE SET amount = lab_day_sums.amount + EXCLUDED.amount
"""
DELETE_ZERO_SUMS = """
DELETE FROM lab_day_sums WHERE lab_id = $1 AND day = ANY($2::date[]) AND amount = 0
"""
SELECT_PERIOD_SUMS = """
SELECT metric, key, day >= $4 AS open, sum(amount) AS amount FROM lab_day_sums
WHERE lab_id = $1 AND day >= $2 AND day < $3
GROUP BY metric, key, open
"""
SELECT_WIP = """
SELECT coalesce(sum(amount) FILTER (WHERE metric = 'created'), 0)
     - coalesce(sum(amount) FILTER (WHERE metric = 'closed'), 0)
FROM lab_day_sums WHERE lab_id = $1 AND metric IN ('created', 'closed') AND day < $2
"""
SELECT_ALL_SUMS = "SELECT day, metric, key, amount FROM lab_day_sums WHERE lab_id = $1"
SELECT_ALL_FACTS = "SELECT facts FROM order_facts WHERE lab_id = $1"


def facts_of(row: Mapping[str, Any]) -> OrderFacts:
    """An order's facts from its ``SELECT_RAW_FACTS`` row."""
    movements = [(s, status, Decimal(epoch)) for s, status, epoch in row["movements"] or []]
    labour, passes = booked(movements)
    return OrderFacts(
        order_id=str(row["id"]),
        practice_id=str(row["practice_id"]),
        created_at=row["created_at"],
        lens_type=row["lens_type"] or UNSPECIFIED,
        design=row["design"] or UNSPECIFIED,
        material=row["material"] or UNSPECIFIED,
        due_date=row["due_date"],
        remake_of=None if row["remake_of"] is None else str(row["remake_of"]),
        shipped_at=row["shipped_at"],
        cancelled_at=row["cancelled_at"],
        first_pass=row["first_pass"],
        breakages=tuple(Breakage(s, r, rs) for s, r, rs in row["breakages"] or []),
        remake_category=row["remake_category"],
        non_adapt=bool(row["non_adapt"]),
        labour_minutes=labour,
        passes=passes,
    )


async def position(conn: Conn, lab_id: str) -> tuple[int, int | None]:
    """The lab's log head and the seq its figures are current to (None: never built)."""
    row = await conn.fetchrow(SELECT_POSITION, lab_id)
    if row is None:
        return 0, None
    return int(row["head"]), None if row["seq"] is None else int(row["seq"])


async def lock_figures(conn: Conn, lab_id: str, now: datetime) -> int | None:
    """Lock the lab's figure head (creating it at -1 if absent); the seq it is current to, or
    None when the figures were never built."""
    await conn.execute(INSERT_FIGURE_HEAD, lab_id, -1, now)
    seq = int(await conn.fetchval(LOCK_FIGURE_HEAD, lab_id))
    return None if seq < 0 else seq


async def set_head(conn: Conn, lab_id: str, seq: int, now: datetime) -> None:
    await conn.execute(SET_FIGURE_HEAD, lab_id, seq, now)


async def behind(conn: Conn) -> list[str]:
    """Labs whose log has moved past their figures (or whose figures were never built)."""
    return [str(r["lab_id"]) for r in await conn.fetch(SELECT_BEHIND)]


async def log_head(conn: Conn, lab_id: str) -> int:
    return int(await conn.fetchval(SELECT_HEAD, lab_id) or 0)


async def touched(conn: Conn, lab_id: str, after: int, upto: int) -> list[str]:
    """Orders named by the lab's events in ``(after, upto]`` and the orders they remake."""
    return [str(r["id"]) for r in await conn.fetch(SELECT_TOUCHED, lab_id, after, upto)]


async def lab_orders(conn: Conn, lab_id: str) -> list[str]:
    return [str(r["id"]) for r in await conn.fetch(SELECT_LAB_ORDERS, lab_id)]


async def raw_facts(conn: Conn, lab_id: str, order_ids: Sequence[str]) -> dict[str, OrderFacts]:
    rows = await conn.fetch(SELECT_RAW_FACTS, lab_id, list(order_ids))
    return {str(r["id"]): facts_of(r) for r in rows}


async def stored_facts(conn: Conn, lab_id: str, order_ids: Sequence[str]) -> dict[str, OrderFacts]:
    rows = await conn.fetch(SELECT_STORED_FACTS, lab_id, list(order_ids))
    return {str(r["order_id"]): from_record(r["facts"]) for r in rows}


async def save_facts(conn: Conn, lab_id: str, facts: Sequence[OrderFacts]) -> None:
    if facts:
        records = [to_record(f) for f in facts]
        await conn.execute(UPSERT_FACTS, lab_id, [f.order_id for f in facts], records)


async def add_sums(conn: Conn, lab_id: str, sums: Sums) -> None:
    """Add amounts to the lab's daily sums (one statement) and drop the sums that reach zero."""
    if not sums:
        return
    keys = sorted(sums)
    await conn.execute(
        ADD_SUMS,
        lab_id,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [sums[k] for k in keys],
    )
    await conn.execute(DELETE_ZERO_SUMS, lab_id, sorted({k[0] for k in keys}))


async def period_sums(
    conn: Conn, lab_id: str, first: date, end: date, open_from: date
) -> tuple[dict[tuple[str, str], Decimal], dict[tuple[str, str], Decimal]]:
    """Sums of the days ``[first, end)`` per (metric, key): all of them, and those of the days
    from ``open_from`` on."""
    rows = await conn.fetch(SELECT_PERIOD_SUMS, lab_id, first, end, open_from)
    amounts: dict[tuple[str, str], Decimal] = {}
    later: dict[tuple[str, str], Decimal] = {}
    for r in rows:
        key = (r["metric"], r["key"])
        amounts[key] = amounts.get(key, Decimal(0)) + r["amount"]
        if r["open"]:
            later[key] = r["amount"]
    return amounts, later


async def wip(conn: Conn, lab_id: str, end: date) -> int:
    """Orders created and not yet shipped or cancelled on the days before ``end``."""
    return int(await conn.fetchval(SELECT_WIP, lab_id, end))


async def all_sums(conn: Conn, lab_id: str) -> Sums:
    rows = await conn.fetch(SELECT_ALL_SUMS, lab_id)
    return {(r["day"], r["metric"], r["key"]): r["amount"] for r in rows if r["amount"] != 0}


async def all_facts(conn: Conn, lab_id: str) -> list[OrderFacts]:
    return [from_record(r["facts"]) for r in await conn.fetch(SELECT_ALL_FACTS, lab_id)]
