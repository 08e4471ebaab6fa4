"""Shared fixtures: real PostgreSQL and Redis for the integration and cluster tiers.

They use ``ILS_TEST_DATABASE_URL`` / ``ILS_TEST_REDIS_URL`` when set (CI: the machine's servers),
else embedded servers started once per session in a temporary directory. Every test gets its own
database, cloned from a template migrated once, and its own Redis key prefix; both are dropped
afterwards. Nothing touches a database this session did not create.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from ils.db.migrate import migrate
from ils.settings import Settings


def _with_database(dsn: str, name: str) -> str:
    """The same server DSN pointing at another database (keeps a ?host= socket query)."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def embedded_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ils-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server_dsn(embedded_dir: Path) -> Iterator[str]:
    url = os.environ.get("ILS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from ils.embedded import start_postgres

    dsn, stop = start_postgres(embedded_dir)
    yield dsn
    stop()


@pytest.fixture(scope="session")
def redis_url(embedded_dir: Path) -> Iterator[str]:
    url = os.environ.get("ILS_TEST_REDIS_URL")
    if url:
        yield url
        return
    from ils.embedded import start_redis

    url, stop = start_redis(embedded_dir)
    yield url
    stop()


async def _admin(server_dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(server_dsn)


async def _drop(admin: asyncpg.Connection, name: str) -> None:
    """Drop a test database even while actors of the test still reconnect to it.

    ``WITH (FORCE)`` ends the sessions and drops in one statement; between a separate terminate
    and drop, an actor's new connection would make the drop fail.
    """
    for attempt in range(5):
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.ObjectInUseError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture(scope="session")
async def template_db(server_dsn: str) -> AsyncIterator[str]:
    name = f"ils_tmpl_{secrets.token_hex(4)}"
    admin = await _admin(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(_with_database(server_dsn, name))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    try:
        yield name
    finally:
        await _drop(admin, name)
        await admin.close()


@pytest.fixture
async def database_url(server_dsn: str, template_db: str) -> AsyncIterator[str]:
    name = f"ils_t_{secrets.token_hex(6)}"
    admin = await _admin(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield _with_database(server_dsn, name)
    finally:
        await _drop(admin, name)
        await admin.close()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    # Cheap argon2 parameters keep the suite fast; `ils bench auth` measures the real ones.
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"ils-test-{secrets.token_hex(4)}:",
        data_dir=tmp_path,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        db_pool_min=1,
        db_pool_max=5,
    )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/cluster/" in path:
            item.add_marker(pytest.mark.cluster)
