"""The write path's batched appends: both tenants' events in one statement, audit rows in one."""

from __future__ import annotations

import pytest

from ils.db import audit, events, tenants
from ils.domain.event import NewEvent, Topic
from ils.runtime import Runtime
from ils.services.audit_trail import AuditTrail
from tests.integration.conftest import World


def _new(runtime: Runtime, n: int, kind: str) -> list[NewEvent]:
    now = runtime.clock()
    return [NewEvent(kind, Topic.ORDERS, now, {"k": k}) for k in range(n)]


async def test_append_many_keeps_each_log_dense(runtime: Runtime, world: World) -> None:
    lab, practice = world.lab.tenant_id, world.practice.tenant_id
    async with runtime.db.transaction() as conn:
        lab_head, practice_head = await events.head(conn, lab), await events.head(conn, practice)
        await tenants.lock_heads(conn, [lab, practice])
        stored = await events.append_many(
            conn, {lab: _new(runtime, 3, "test.lab"), practice: _new(runtime, 2, "test.pr")}
        )
        empty = await events.append_many(conn, {lab: []})
    assert empty == []
    assert [(e.tenant_id, e.seq, e.data["k"]) for e in stored] == [
        (lab, lab_head + 1, 0),
        (lab, lab_head + 2, 1),
        (lab, lab_head + 3, 2),
        (practice, practice_head + 1, 0),
        (practice, practice_head + 2, 1),
    ]
    async with runtime.db.connection() as conn:
        assert await events.head(conn, lab) == lab_head + 3
        read = await events.since(conn, practice, practice_head)
    assert [(e.seq, e.type, e.data) for e in read] == [
        (e.seq, e.type, e.data) for e in stored if e.tenant_id == practice
    ]


async def test_audit_append_chains_and_refuses_a_stale_head(runtime: Runtime, world: World) -> None:
    lab = world.lab.tenant_id
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        heads = await tenants.lock_heads(conn, [lab])
        before = heads[lab].audit_count
        await audit.append(conn, heads[lab], now, None, "test.first", None, {"a": 1})
        await audit.append(conn, heads[lab], now, None, "test.second", "s", {})
    assert heads[lab].audit_count == before + 2
    assert (await AuditTrail(runtime.db).verify(lab))["ok"]

    with pytest.raises(audit.StaleHead):
        async with runtime.db.transaction() as conn:
            heads = await tenants.lock_heads(conn, [lab])
            await audit.record(conn, lab, now, None, "test.moved")  # the head moves on
            stale = tenants.Head(lab, before + 3, heads[lab].audit_last_hash)
            await audit.append(conn, stale, now, None, "test.stale")
    async with runtime.db.connection() as conn:
        found = await audit.head(conn, lab)
    assert found is not None and found[0] == before + 2  # the failed transaction kept nothing
    assert (await AuditTrail(runtime.db).verify(lab))["ok"]
