"""Forward-only numbered SQL migrations, applied under a PostgreSQL advisory lock.

Files are ``migrations/NNNN_name.sql``; each runs once, in its own transaction, and is recorded in
``schema_migrations``. Several processes may call ``migrate`` at once: the advisory lock makes the
others wait and then find nothing left to do.
"""

from __future__ import annotations

import re
from importlib import resources

import asyncpg

_LOCK_KEY = 0x11_5C_4E_3A  # arbitrary, constant: "ILS schema"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version FROM schema_migrations"
INSERT_APPLIED = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"


def available() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration shipped, in order."""
    found = []
    for entry in resources.files("ils.db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migrations share a number")
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply what is missing; return the names applied."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(CREATE_TABLE)
        done = {r["version"] for r in await conn.fetch(SELECT_APPLIED)}
        for version, name, sql in available():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(INSERT_APPLIED, version, name)
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now
