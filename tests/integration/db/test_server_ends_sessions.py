"""The database ending pooled sessions (a restart, an administrator) is an outage, not a bug.

Requests that meet such a connection are answered 503 (retry later), never 500, and the pool
serves the next request with a fresh connection.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ils.db.database import Database
from ils.errors import DependencyUnavailable
from ils.settings import Settings

ROUNDS = 20


async def _end_sessions(admin: asyncpg.Connection, database: str) -> None:
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )


async def test_sessions_ended_under_the_pool_answer_unavailable_then_recover(
    settings: Settings, database_url: str
) -> None:
    db = await Database.connect(settings, min_size=1, max_size=1)
    admin = await asyncpg.connect(database_url)
    database = await admin.fetchval("SELECT current_database()")
    outcomes: list[str] = []
    try:
        for _ in range(ROUNDS):
            async with db.connection() as conn:
                assert await conn.fetchval("SELECT 1") == 1
            await _end_sessions(admin, database)
            # Straight after: the pooled connection's socket may not have closed on our side yet.
            await asyncio.sleep(0.001)
            try:
                async with db.connection() as conn:
                    await conn.fetchval("SELECT 1")
                outcomes.append("served")
            except DependencyUnavailable:
                outcomes.append("unavailable")
            async with db.transaction() as conn:  # the pool has recovered
                assert await conn.fetchval("SELECT 2") == 2
    finally:
        await admin.close()
        await db.close()
    assert len(outcomes) == ROUNDS
    assert set(outcomes) <= {"served", "unavailable"}


async def test_a_connection_left_mid_operation_is_an_outage(settings: Settings) -> None:
    """Whatever the timing, the error asyncpg raises for such a connection means 503."""
    db = await Database.connect(settings, min_size=1, max_size=1)
    try:
        with pytest.raises(DependencyUnavailable):
            async with db.connection():
                raise asyncpg.InternalClientError("cannot switch to state 12")
    finally:
        await db.close()
