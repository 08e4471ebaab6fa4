"""The per-tenant event log: append with dense sequence numbers, read by position or order."""

from __future__ import annotations

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
    if not events:
        return []
    last = int(await conn.fetchval(ADVANCE_SEQ, tenant_id, len(events)))
    first = last - len(events) + 1
    seqs = list(range(first, last + 1))
    await conn.execute(
        INSERT_EVENTS,
        tenant_id,
        seqs,
        [e.type for e in events],
        [e.order_id for e in events],
        [str(e.topic) for e in events],
        [e.data for e in events],
        [e.occurred_at for e in events],
    )
    await rollups.add(conn, tenant_id, events)  # analytics rollups, same transaction
    return [
        StoredEvent(tenant_id, seq, e.type, e.topic, e.occurred_at, e.data, e.order_id)
        for seq, e in zip(seqs, events, strict=True)
    ]


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
