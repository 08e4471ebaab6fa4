"""A lab's finished jobs and what became of them: remakes, returns, non-adapts, breakages, shipping.

What the dispensing assistant's manufacturing model is fitted on. A finished job is an order of the
lab that was shipped or completed; its outcomes:
- remake: another order names it in ``remake_of``, or a return was recorded against it;
- non-adapt: a non-adapt was recorded against it (``order_issues``);
- breakage: a breakage record names it (the LIMS inbound table ``breakages``, when the schema has
  it; without it the lab records no breakages and the model gets no breakage rate);
- shipped at: the first event of the lab's log whose order summary says ``shipped``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn

FINISHED_STATUSES = ("shipped", "completed")

COUNT_FINISHED = """
SELECT count(*) FROM orders
WHERE lab_id = $1 AND status = ANY($2::text[]) AND created_at >= $3
"""
SELECT_FINISHED = """
SELECT o.id, o.lens, o.rx_minus_cyl, o.created_at,
       coalesce(r.remakes, 0) > 0 AS remade,
       coalesce(i.returned, false) AS returned,
       coalesce(i.non_adapt, false) AS non_adapt,
       s.shipped_at
FROM orders o
LEFT JOIN (
    SELECT remake_of, count(*) AS remakes FROM orders
    WHERE lab_id = $1 AND remake_of IS NOT NULL GROUP BY remake_of
) r ON r.remake_of = o.id
LEFT JOIN (
    SELECT order_id, bool_or(kind = 'return') AS returned, bool_or(kind = 'non_adapt') AS non_adapt
    FROM order_issues WHERE lab_id = $1 GROUP BY order_id
) i ON i.order_id = o.id
LEFT JOIN (
    SELECT order_id, min(occurred_at) AS shipped_at FROM events
    WHERE tenant_id = $1 AND order_id IS NOT NULL AND payload -> 'order' ->> 'status' = 'shipped'
    GROUP BY order_id
) s ON s.order_id = o.id
WHERE o.lab_id = $1 AND o.status = ANY($2::text[]) AND o.created_at >= $3
ORDER BY o.created_at DESC
LIMIT $4
"""
# The breakage records of LIMS inbound (migration 0006). Only its ``order_id`` column is relied on.
HAS_BREAKAGES = """
SELECT EXISTS (
    SELECT 1 FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'breakages' AND column_name = 'order_id'
)
"""
SELECT_BROKEN = """
SELECT DISTINCT order_id FROM breakages WHERE order_id = ANY($1::uuid[])
"""


async def count_finished(conn: Conn, lab_id: str, since: datetime) -> int:
    return int(await conn.fetchval(COUNT_FINISHED, lab_id, list(FINISHED_STATUSES), since))


async def finished(conn: Conn, lab_id: str, since: datetime, limit: int) -> list[dict[str, Any]]:
    """The lab's finished jobs created since ``since``, newest first, at most ``limit``."""
    rows = await conn.fetch(SELECT_FINISHED, lab_id, list(FINISHED_STATUSES), since, limit)
    return [{**dict(r), "id": str(r["id"])} for r in rows]


async def records_breakages(conn: Conn) -> bool:
    """Whether this schema has breakage records at all."""
    return bool(await conn.fetchval(HAS_BREAKAGES))


async def broken(conn: Conn, order_ids: list[str]) -> set[str]:
    """The orders among ``order_ids`` with at least one breakage (call only if recorded)."""
    rows = await conn.fetch(SELECT_BROKEN, order_ids)
    return {str(r["order_id"]) for r in rows}
