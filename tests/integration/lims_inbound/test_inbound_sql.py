"""Every SQL statement of the LIMS inbound stores prepares against the migrated schema."""

from __future__ import annotations

import pytest

from ils.db import lims_inbound, stations
from ils.runtime import Runtime

STATEMENTS = [
    value
    for module in (lims_inbound, stations)
    for name, value in vars(module).items()
    if name.isupper()
    and isinstance(value, str)
    and value.lstrip().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"))
]


def test_every_statement_is_listed() -> None:
    assert len(STATEMENTS) >= 14


@pytest.mark.parametrize("sql", STATEMENTS)
async def test_statement_prepares(runtime: Runtime, sql: str) -> None:
    async with runtime.db.connection() as conn:
        await conn.prepare(sql)
