"""The per-tenant event log: append with dense sequence numbers, read by position or order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ils.db import rollups
from ils.db.database import Conn
from ils.domain.event import NewEvent, StoredEvent, Topic

ADVANCE_SEQ = """
UPDATE tenant_heads SET last_seq = last_seq + $2 WHERE tenant_id = $1 RETURNING last_seq
"""
INSERT_EVENTS = """
INSERT INTO events (tenant_id, seq, type, order_id, topic, payload, occurred_at)
SELECT $1, s.seq, s.type, s.order_id, s.topic, s.payload, s.occurred_at
FROM unnest($2::bigint[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[], $7::timestamptz[])
    AS s(seq, type, order_id, topic, payload, occurred_at)
"""
#: Advance every tenant's head by its number of events and insert all the rows, in ONE statement
#: (``k`` is an event's 1-based position in its tenant's batch). The heads are already locked.
APPEND_MANY = """
WITH h AS (
    UPDATE tenant_heads t SET last_seq = t.last_seq + d.n
    FROM unnest($1::uuid[], $2::bigint[]) AS d(tenant_id, n)
    WHERE t.tenant_id = d.tenant_id
    RETURNING t.tenant_id, t.last_seq, d.n
), ins AS (
    INSERT INTO events (tenant_id, seq, type, order_id, topic, payload, occurred_at)
    SELECT s.tenant_id, h.last_seq - h.n + s.k, s.type, s.order_id, s.topic, s.payload,
           s.occurred_at
    FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::uuid[], $7::text[], $8::jsonb[],
                $9::timestamptz[]) AS s(tenant_id, k, type, order_id, topic, payload, occurred_at)
    JOIN h ON h.tenant_id = s.tenant_id
)
SELECT tenant_id, last_seq FROM h
"""
SELECT_HEAD = "SELECT last_seq FROM tenant_heads WHERE tenant_id = $1"
SELECT_SINCE = """
SELECT tenant_id, seq, type, order_id, topic, payload, occurred_at
FROM events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""
SELECT_FOR_ORDER = """
SELECT tenant_id, seq, type, order_id, topic, payload, occurred_at
FROM events WHERE order_id = $1 AND tenant_id = $2 ORDER BY seq
"""


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        tenant_id=str(row["tenant_id"]),
        seq=row["seq"],
        type=row["type"],
        topic=Topic(row["topic"]),
        occurred_at=row["occurred_at"],
        data=row["payload"],
        order_id=str(row["order_id"]) if row["order_id"] else None,
    )


async def append(conn: Conn, tenant_id: str, events: list[NewEvent]) -> list[StoredEvent]:
    """Append inside the caller's transaction. The caller holds the tenant's head lock."""
    return await append_many(conn, {tenant_id: events})


async def append_many(conn: Conn, batches: Mapping[str, Sequence[NewEvent]]) -> list[StoredEvent]:
    """Append each tenant's events (``{tenant_id: events}``) with two statements in all: one
    advances every head and inserts every row, one adds the rollups. The caller holds the heads'
    locks. The stored events come back tenant by tenant, in the mapping's order."""
    batches = {t: list(new) for t, new in batches.items() if new}
    if not batches:
        return []
    flat = [(t, k, e) for t, new in batches.items() for k, e in enumerate(new, start=1)]
    rows = await conn.fetch(
        APPEND_MANY,
        list(batches),
        [len(new) for new in batches.values()],
        [t for t, _, _ in flat],
        [k for _, k, _ in flat],
        [e.type for _, _, e in flat],
        [e.order_id for _, _, e in flat],
        [str(e.topic) for _, _, e in flat],
        [e.data for _, _, e in flat],
        [e.occurred_at for _, _, e in flat],
    )
    last = {str(r["tenant_id"]): int(r["last_seq"]) for r in rows}
    if set(last) != set(batches):
        raise LookupError(f"no tenant head for {sorted(set(batches) - set(last))}")
    await rollups.add_many(conn, batches)  # analytics rollups, same transaction
    return [
        StoredEvent(t, last[t] - len(batches[t]) + k, e.type, e.topic, e.occurred_at, e.data,
                    e.order_id)
        for t, k, e in flat
    ]  # fmt: skip


async def head(conn: Conn, tenant_id: str) -> int:
    value = await conn.fetchval(SELECT_HEAD, tenant_id)
    return int(value or 0)


async def since(conn: Conn, tenant_id: str, seq: int, limit: int = 1000) -> list[StoredEvent]:
    return [_stored(r) for r in await conn.fetch(SELECT_SINCE, tenant_id, seq, limit)]


async def for_order(conn: Conn, tenant_id: str, order_id: str) -> list[StoredEvent]:
    return [_stored(r) for r in await conn.fetch(SELECT_FOR_ORDER, order_id, tenant_id)]


SELECT_FIRST = "SELECT coalesce(min(seq), 1) FROM events WHERE tenant_id = $1"


async def first(conn: Conn, tenant_id: str) -> int:
    """The oldest seq the log still holds (1 for an empty or complete log)."""
    return int(await conn.fetchval(SELECT_FIRST, tenant_id))
