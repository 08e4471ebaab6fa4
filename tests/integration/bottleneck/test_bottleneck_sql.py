"""Every SQL statement of the bottleneck store prepares against the migrated schema."""

from __future__ import annotations

import pytest

from ils.db import bottlenecks
from ils.runtime import Runtime

STATEMENTS = [
    value
    for name, value in vars(bottlenecks).items()
    if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("SELECT", "INSERT"))
]


def test_every_statement_is_listed() -> None:
    assert len(STATEMENTS) == 6


@pytest.mark.parametrize("sql", STATEMENTS)
async def test_statement_prepares(runtime: Runtime, sql: str) -> None:
    async with runtime.db.connection() as conn:
        await conn.prepare(sql)
