"""What one benchmark run borrows and gives back: a scratch database (created, migrated, used, and
dropped afterwards) with its own Redis key prefix, and a free local port."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from ils.bus import Bus
from ils.db.migrate import migrate
from ils.settings import Settings


def with_database(dsn: str, name: str) -> str:
    """The same server DSN pointing at another database (keeps a ``?host=`` socket query)."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_database(settings: Settings, name: str) -> None:
    """A new database ``name`` on the server of ``settings.database_url``, migrated."""
    admin = await asyncpg.connect(settings.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_database(settings.database_url, name))
    try:
        await migrate(conn)
    finally:
        await conn.close()


async def drop_database(settings: Settings, name: str) -> None:
    """Drop ``name`` (if there), ending its sessions first: actors may still hold some."""
    dsn = settings.database_url
    if urlsplit(dsn).path.lstrip("/") == name:  # no database can be dropped from inside itself
        dsn = with_database(dsn, "postgres")
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def scratch_settings(settings: Settings, name: str, bench: str) -> Settings:
    """``settings`` pointed at the database ``name`` and a fresh Redis key prefix."""
    scratch = settings.with_urls(with_database(settings.database_url, name), settings.redis_url)
    prefix = f"ils-{bench}-{secrets.token_hex(4)}:"
    return scratch.model_copy(update={"redis_prefix": prefix})


async def drop_prefix(settings: Settings) -> int:
    """Delete every Redis key under ``settings.redis_prefix`` (replay windows, idempotency keys,
    rate limits of the run); how many there were."""
    bus = Bus.connect(settings)
    try:
        return await bus.delete_prefix("")
    finally:
        await bus.close()


@asynccontextmanager
async def scratch_database(settings: Settings) -> AsyncIterator[Settings]:
    """Settings pointing at a new migrated database and a fresh Redis key prefix; both are
    dropped afterwards."""
    name = f"ils_bench_{secrets.token_hex(4)}"
    scratch = scratch_settings(settings, name, "bench")
    try:
        await create_database(settings, name)
        yield scratch
    finally:
        await drop_database(settings, name)
        await drop_prefix(scratch)
