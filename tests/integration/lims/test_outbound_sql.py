"""Every SQL statement of the LIMS outbound stores prepares against the migrated schema."""

from __future__ import annotations

import pytest

from ils.db import lims_config, outbox
from ils.runtime import Runtime

STATEMENTS = [
    lims_config.UPSERT,
    lims_config.SELECT_ONE,
    lims_config.SAVE_BREAKER,
    outbox.DUE_LABS,
    outbox.CLAIM,
    outbox.MARK_SENT,
    outbox.MARK_FAILED,
    outbox.RESCHEDULE,
    outbox.RELEASE,
    outbox.DEPTH,
    outbox.RECORD_JOB,
    outbox.SELECT_ORDER_FOR_UPDATE,
]


@pytest.mark.parametrize("sql", STATEMENTS)
async def test_statement_prepares(runtime: Runtime, sql: str) -> None:
    async with runtime.db.connection() as conn:
        await conn.prepare(sql)
