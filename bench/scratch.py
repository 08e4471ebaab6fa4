"""A scratch database for one benchmark run: created, migrated, used, and dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from ils.db.migrate import migrate
from ils.settings import Settings


def with_database(dsn: str, name: str) -> str:
    """The same server DSN pointing at another database (keeps a ``?host=`` socket query)."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@asynccontextmanager
async def scratch_database(settings: Settings) -> AsyncIterator[Settings]:
    """Settings pointing at a new migrated database and a fresh Redis key prefix."""
    name = f"ils_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(settings.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        scratch = settings.with_urls(with_database(settings.database_url, name), settings.redis_url)
        scratch = scratch.model_copy(update={"redis_prefix": f"ils-bench-{secrets.token_hex(4)}:"})
        conn = await asyncpg.connect(scratch.database_url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield scratch
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
