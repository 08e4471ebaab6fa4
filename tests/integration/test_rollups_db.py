"""Property: the rollups the database keeps incrementally equal a recomputation from the log.

Random streams (fixed seeds) of counted and uncounted events, appended in random batches through
``events.append`` as every service does, across day, ISO-week and month boundaries.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from ils.analytics.rollup import recompute
from ils.db import events, rollups, tenants
from ils.domain.event import NewEvent, Topic
from ils.runtime import Runtime

START = datetime(2026, 12, 20, tzinfo=UTC)  # the stream crosses a month, a year and ISO weeks
TYPES = (
    "order.created",
    "order.status_changed",
    "inspection.recorded",
    "breakage.recorded",
    "alert.raised",
)
TARGETS = ("shipped", "completed", "cancelled", "on_hold", "in_production")


def random_event(rng: np.random.Generator) -> NewEvent:
    kind = str(rng.choice(TYPES))
    occurred = START + timedelta(seconds=int(rng.integers(0, 30 * 86400)))
    data: dict[str, Any] = {"to": str(rng.choice(TARGETS)), "pass": bool(rng.integers(0, 2))}
    if rng.random() < 0.7:
        created = occurred - timedelta(seconds=int(rng.integers(0, 9 * 86400)))
        remake_of = str(uuid.UUID(int=1)) if rng.random() < 0.3 else None
        data["order"] = {"created_at": created.isoformat(), "remake_of": remake_of}
    return NewEvent(kind, Topic.ORDERS, occurred, data)


async def _stream(runtime: Runtime, tenant_id: str, rng: np.random.Generator) -> None:
    pending = [random_event(rng) for _ in range(int(rng.integers(1, 60)))]
    while pending:
        size = int(rng.integers(1, 8))
        batch, pending = pending[:size], pending[size:]
        async with runtime.db.transaction() as conn:
            await tenants.lock_heads(conn, [tenant_id])
            await events.append(conn, tenant_id, batch)


@pytest.mark.parametrize("seed", range(8))
async def test_rollups_equal_a_recomputation_from_the_log(runtime: Runtime, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tenant_id = str(uuid.uuid4())
    async with runtime.db.transaction() as conn:
        await tenants.insert(conn, tenant_id, "lab", f"Lab {seed}", {}, None, START)
    await _stream(runtime, tenant_id, rng)
    async with runtime.db.connection() as conn:
        log = await events.since(conn, tenant_id, 0, 10_000)
        kept = await rollups.all_buckets(conn, tenant_id)
    records = [
        {**e.data, "type": e.type, "tenant_id": tenant_id, "occurred_at": e.occurred_at}
        for e in log
    ]
    expected = recompute(records)
    assert kept == expected
    counted = [e for e in log if e.type != "alert.raised"]
    assert bool(kept) == any(
        e.type != "order.status_changed" or e.data["to"] in ("shipped", "completed", "cancelled")
        for e in counted
    )
