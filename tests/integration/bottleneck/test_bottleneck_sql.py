"""Every SQL statement of the bottleneck store prepares against the migrated schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ils.analytics.bottleneck import Detection
from ils.db import bottlenecks
from ils.runtime import Runtime
from ils.services.bottleneck import PRUNE_EVERY, SAMPLE_RETENTION
from ils.services.bottleneck_model import Observation
from tests.integration.conftest import World

STATEMENTS = [
    value
    for name, value in vars(bottlenecks).items()
    if name.isupper()
    and isinstance(value, str)
    and value.lstrip().startswith(("SELECT", "INSERT", "DELETE"))
]


def test_every_statement_is_listed() -> None:
    assert len(STATEMENTS) == 7


@pytest.mark.parametrize("sql", STATEMENTS)
async def test_statement_prepares(runtime: Runtime, sql: str) -> None:
    async with runtime.db.connection() as conn:
        await conn.prepare(sql)


async def test_samples_older_than_the_retention_are_pruned_once_an_hour(
    runtime: Runtime, world: World
) -> None:
    lab = world.lab.tenant_id
    row = {"station": "edging", "queue": 1, "in_process": 2, "capacity": 3, "arrived": 9,
           "service_mean_min": 4.0}  # fmt: skip
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    old = now - SAMPLE_RETENTION - timedelta(minutes=1)
    async with runtime.db.connection() as conn:
        await bottlenecks.insert_samples(conn, lab, old, [row])
    service = runtime.bottlenecks
    quiet = Detection(None, 0.0, 0.0)

    async def kept() -> list[datetime]:
        async with runtime.db.connection() as conn:
            rows = await conn.fetch("SELECT at FROM station_samples WHERE lab_id = $1", lab)
        return sorted(r["at"] for r in rows)

    await service.record(lab, Observation(now, [row], quiet, False, None))
    assert await kept() == [now]
    # Within the hour nothing is deleted; an hour on, samples past the retention go.
    late = now + PRUNE_EVERY - timedelta(minutes=1)
    async with runtime.db.connection() as conn:
        await bottlenecks.insert_samples(conn, lab, late - SAMPLE_RETENTION - timedelta(1), [row])
    await service.record(lab, Observation(late, [row], quiet, False, None))
    assert len(await kept()) == 3
    await service.record(lab, Observation(now + PRUNE_EVERY, [row], quiet, False, None))
    assert await kept() == [now, late, now + PRUNE_EVERY]
