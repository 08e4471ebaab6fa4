"""The Database: a pool, transactions, and the translation of connection failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg

from ils.db.pool import create_pool
from ils.errors import DependencyUnavailable
from ils.settings import Settings

#: What services see of a connection: they pass it to ils.db functions and never call it.
Conn: TypeAlias = asyncpg.Connection

_UNAVAILABLE = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,  # the server is restarting: its sessions are ended
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    # A pooled connection whose session the server ended while it sat idle (PostgreSQL
    # restarting, an administrator's pg_terminate_backend): when the next statement comes before
    # asyncpg has seen the socket close, its protocol is still consuming the server's farewell
    # error and refuses the statement ("cannot switch to state 12; another operation (2) is in
    # progress"). The pool drops that connection when it comes back (its reset fails).
    asyncpg.InternalClientError,
)


class Database:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, settings: Settings, **overrides: Any) -> Database:
        try:
            return cls(await create_pool(settings, **overrides))
        except _UNAVAILABLE as exc:
            raise DependencyUnavailable("the database is unreachable") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A connection inside one transaction: everything commits together or not at all."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn
        except _UNAVAILABLE as exc:
            raise DependencyUnavailable("the database is unreachable") from exc

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        try:
            async with self.pool.acquire() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise DependencyUnavailable("the database is unreachable") from exc

    async def ping(self) -> bool:
        try:
            async with self.pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT 1"))
        except Exception:
            return False

    async def close(self) -> None:
        await self.pool.close()


def is_unique_violation(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.UniqueViolationError)
