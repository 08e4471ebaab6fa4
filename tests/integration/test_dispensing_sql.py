"""Every SQL statement of the catalog and job-outcome stores prepares against the schema."""

from __future__ import annotations

import pytest

from ils.db import catalog, job_outcomes
from ils.runtime import Runtime

STATEMENTS = [
    catalog.UPSERT_PRODUCT,
    catalog.SELECT_CURRENCIES,
    catalog.BUMP_VERSION,
    catalog.SELECT_VERSION,
    catalog.SELECT_ALL,
    catalog.SELECT_PAGE,
    catalog.SELECT_LINKED_LABS,
    job_outcomes.COUNT_FINISHED,
    job_outcomes.SELECT_FINISHED,
    job_outcomes.HAS_BREAKAGES,
]


@pytest.mark.parametrize("sql", STATEMENTS)
async def test_statement_prepares(runtime: Runtime, sql: str) -> None:
    async with runtime.db.connection() as conn:
        await conn.prepare(sql)


async def test_breakage_statement_prepares_when_breakages_are_recorded(runtime: Runtime) -> None:
    async with runtime.db.connection() as conn:
        if not await job_outcomes.records_breakages(conn):
            pytest.skip("this schema has no breakage records")
        await conn.prepare(job_outcomes.SELECT_BROKEN)
