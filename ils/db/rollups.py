"""Analytics rollups: per-tenant daily / weekly / monthly counters, fed by every appended event.

``add`` runs inside ``events.append``'s transaction: the deltas of the appended events
(``ils.analytics.rollup.event_deltas``) are folded per bucket in Python and upserted in ONE
statement, so a rollup is committed exactly when its events are. Readers never recompute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ils.analytics.rollup import event_deltas, fold
from ils.db.database import Conn
from ils.domain.event import NewEvent

UPSERT = """
INSERT INTO rollups (tenant_id, metric, granularity, bucket_start, amount)
SELECT $1, d.metric, d.granularity, d.bucket_start, d.amount
FROM unnest($2::text[], $3::text[], $4::date[], $5::numeric[])
    AS d(metric, granularity, bucket_start, amount)
ON CONFLICT (tenant_id, metric, granularity, bucket_start)
DO UPDATE SET amount = rollups.amount + EXCLUDED.amount
"""
UPSERT_MANY = """
INSERT INTO rollups (tenant_id, metric, granularity, bucket_start, amount)
SELECT d.tenant_id, d.metric, d.granularity, d.bucket_start, d.amount
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::numeric[])
    AS d(tenant_id, metric, granularity, bucket_start, amount)
ON CONFLICT (tenant_id, metric, granularity, bucket_start)
DO UPDATE SET amount = rollups.amount + EXCLUDED.amount
"""
SELECT_SERIES = """
SELECT bucket_start, amount FROM rollups
WHERE tenant_id = $1 AND metric = $2 AND granularity = $3
  AND bucket_start >= $4 AND bucket_start <= $5
ORDER BY bucket_start
"""
SELECT_TOTALS = """
SELECT metric, sum(amount) AS amount FROM rollups
WHERE tenant_id = $1 AND granularity = 'day' AND bucket_start >= $2 AND bucket_start < $3
GROUP BY metric
"""
SELECT_ALL = """
SELECT metric, granularity, bucket_start, amount FROM rollups WHERE tenant_id = $1
"""


def event_record(tenant_id: str, event: NewEvent) -> dict[str, Any]:
    """The event as ``ils.analytics.rollup`` reads it (its data, type, tenant and time)."""
    return {
        **event.data,
        "type": event.type,
        "tenant_id": tenant_id,
        "occurred_at": event.occurred_at,
    }


async def add(conn: Conn, tenant_id: str, events: Sequence[NewEvent]) -> None:
    """Add the events' deltas to the tenant's rollups (one statement; none when nothing counts)."""
    totals = fold(d for e in events for d in event_deltas(event_record(tenant_id, e)))
    if not totals:
        return
    keys = list(totals)
    await conn.execute(
        UPSERT,
        tenant_id,
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] for k in keys],
        [totals[k] for k in keys],
    )


async def add_many(conn: Conn, batches: Mapping[str, Sequence[NewEvent]]) -> None:
    """:func:`add` for several tenants' events (``{tenant_id: events}``) in one statement."""
    deltas = (
        d for t, new in batches.items() for e in new for d in event_deltas(event_record(t, e))
    )
    totals = fold(deltas)
    if not totals:
        return
    keys = list(totals)
    await conn.execute(
        UPSERT_MANY,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] for k in keys],
        [totals[k] for k in keys],
    )


async def series(
    conn: Conn, tenant_id: str, metric: str, granularity: str, first: date, last: date
) -> dict[date, Decimal]:
    rows = await conn.fetch(SELECT_SERIES, tenant_id, metric, granularity, first, last)
    return {r["bucket_start"]: r["amount"] for r in rows}


async def day_totals(conn: Conn, tenant_id: str, first: date, end: date) -> dict[str, Decimal]:
    """Sum of the daily buckets in ``[first, end)`` per metric."""
    return {
        r["metric"]: r["amount"] for r in await conn.fetch(SELECT_TOTALS, tenant_id, first, end)
    }


async def all_buckets(conn: Conn, tenant_id: str) -> dict[tuple[str, str, str, date], Decimal]:
    """Every bucket of the tenant, keyed as ``ils.analytics.rollup`` keys its totals."""
    rows = await conn.fetch(SELECT_ALL, tenant_id)
    return {
        (tenant_id, r["metric"], r["granularity"], r["bucket_start"]): r["amount"] for r in rows
    }
