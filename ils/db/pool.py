"""The asyncpg pool: JSON codecs, and the translation of connection failures into IlsErrors."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from ils.settings import Settings


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=dumps, decoder=json.loads, schema="pg_catalog", format="text"
        )


async def create_pool(settings: Settings, **overrides: Any) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn=settings.database_url,
        min_size=overrides.get("min_size", settings.db_pool_min),
        max_size=overrides.get("max_size", settings.db_pool_max),
        init=_init_connection,
        command_timeout=30,
    )
    assert pool is not None
    return pool
