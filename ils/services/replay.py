"""The durable side of a room: the Redis replay window, then the PostgreSQL event log."""

from __future__ import annotations

import itertools
from typing import Any

from ils.bus import Bus
from ils.db import events
from ils.db.database import Database

REPLAY_WINDOW = 10_000


def stream_name(tenant_id: str) -> str:
    return f"room:{tenant_id}"


class LogSource:
    """Reads a tenant's committed events after a position: Redis first, PostgreSQL when needed."""

    def __init__(self, db: Database, bus: Bus, window: int = REPLAY_WINDOW) -> None:
        self.db = db
        self.bus = bus
        self.window = window

    async def after(self, tenant_id: str, seq: int, limit: int) -> list[dict[str, Any]]:
        cached = await self.bus.stream_after(stream_name(tenant_id), seq, limit)
        complete = bool(cached) and cached[0]["seq"] == seq + 1 and _contiguous(cached)
        if complete and (len(cached) == limit or cached[-1]["seq"] >= await self.head(tenant_id)):
            return cached
        async with self.db.connection() as conn:
            stored = await events.since(conn, tenant_id, seq, limit)
        return [e.frame() for e in stored]

    async def head(self, tenant_id: str) -> int:
        async with self.db.connection() as conn:
            return await events.head(conn, tenant_id)

    async def first(self, tenant_id: str) -> int:
        async with self.db.connection() as conn:
            return await events.first(conn, tenant_id)

    async def remember(self, tenant_id: str, frames: list[dict[str, Any]]) -> None:
        await self.bus.stream_add(stream_name(tenant_id), frames, self.window)


def _contiguous(frames: list[dict[str, Any]]) -> bool:
    return all(b["seq"] == a["seq"] + 1 for a, b in itertools.pairwise(frames))
