"""Every SQL statement of the quality, SPC, rollup and metrics stores prepares on the schema."""

from __future__ import annotations

from types import ModuleType

import pytest

from ils.db import metrics, quality, rollups, spc
from ils.runtime import Runtime

MODULES: tuple[ModuleType, ...] = (quality, spc, rollups, metrics)
SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "SET")


def statements() -> list[tuple[str, str]]:
    found = []
    for module in MODULES:
        for name, value in vars(module).items():
            fragment = name.endswith("_CTE")  # a WITH clause that statements are built from
            statement = isinstance(value, str) and value.strip().startswith(SQL_VERBS)
            if name.isupper() and statement and not fragment:
                found.append((f"{module.__name__}.{name}", value))
    return found


def test_every_store_has_statements() -> None:
    names = {name for name, _ in statements()}
    assert {
        "ils.db.rollups.UPSERT",
        "ils.db.metrics.SELECT_JOBS",
        "ils.db.spc.INSERT_ALERT",
    } <= names


@pytest.mark.parametrize(("name", "sql"), statements(), ids=[n for n, _ in statements()])
async def test_statement_prepares(runtime: Runtime, name: str, sql: str) -> None:
    async with runtime.db.connection() as conn:
        await conn.prepare(sql)
