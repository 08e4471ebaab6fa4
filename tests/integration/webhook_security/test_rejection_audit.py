"""Refused webhooks leave one audit row per lab, reason and 10 s window; the rest are counted."""

from __future__ import annotations

import time
import uuid

from ils.runtime import Runtime
from ils.services.audit_trail import AuditTrail
from ils.services.webhook_rejections import WINDOW_S
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order
from tests.integration.webhook_security.conftest import rejected_rows


async def test_a_bad_signature_is_audited_without_the_body(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    order = await place_order(lims.client, world)
    response = await lims.post(lims.event(order["id"], "job.accepted"), secret="wrong")
    assert response.status_code == 401
    (row,) = await rejected_rows(runtime, world.lab.tenant_id)
    assert row["reason"] == "bad-signature" and row["suppressed"] == 0
    assert row["window_s"] == WINDOW_S
    assert set(row) == {"reason", "detail", "suppressed", "window_s"}
    assert order["id"] not in str(row)  # nothing of the body
    assert (await AuditTrail(runtime.db).verify(world.lab.tenant_id))["ok"]


async def test_a_flood_writes_one_row_per_reason_and_counts_the_rest(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    order = await place_order(lims.client, world)
    event = lims.event(order["id"], "job.accepted")
    for _ in range(6):
        assert (await lims.post(event, secret="wrong")).status_code == 401
    stale = await lims.post(event, t=int(time.time()) - 3600)
    assert stale.status_code == 401
    rows = await rejected_rows(runtime, world.lab.tenant_id)
    assert [r["reason"] for r in rows] == ["bad-signature", "stale-signature"]

    # The next window: its first refusal writes a row carrying the five not written before.
    await runtime.bus.forget(f"webhook:rejected:{world.lab.tenant_id}:bad-signature")
    assert (await lims.post(event, secret="wrong")).status_code == 401
    rows = await rejected_rows(runtime, world.lab.tenant_id)
    assert [(r["reason"], r["suppressed"]) for r in rows] == [
        ("bad-signature", 0),
        ("stale-signature", 0),
        ("bad-signature", 5),
    ]
    assert (await AuditTrail(runtime.db).verify(world.lab.tenant_id))["ok"]


async def test_oversize_and_malformed_bodies_are_audited(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    order = await place_order(lims.client, world)
    big = await lims.post(lims.event(order["id"], "job.accepted", padding="x" * (1024 * 1024)))
    assert big.status_code == 413
    broken = await lims.post(None, raw=b'{"id": "evt_1", "type": ')
    assert broken.status_code == 422
    invalid = await lims.post(lims.event(order["id"], "job.teleported"))
    assert invalid.status_code == 422
    reasons = [r["reason"] for r in await rejected_rows(runtime, world.lab.tenant_id)]
    assert reasons == ["payload-too-large", "malformed-request", "validation-failed"]


async def test_refusals_for_no_lab_leave_nothing(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    order = await place_order(lims.client, world)
    event = lims.event(order["id"], "job.accepted")
    for target in (str(uuid.uuid4()), world.practice.tenant_id):
        assert (await lims.post(event, lab_id=target)).status_code == 401
        assert await rejected_rows(runtime, target) == []
    big = await lims.post({"padding": "x" * (1024 * 1024)}, lab_id=str(uuid.uuid4()))
    assert big.status_code == 413
    async with runtime.db.connection() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'webhook.rejected'"
        )
    assert count == 0
    assert [k async for k in runtime.bus.client.scan_iter(match=runtime.bus.key("webhook:*"))] == []


async def test_an_accepted_webhook_writes_no_rejection(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    order = await place_order(lims.client, world)
    assert (await lims.post(lims.event(order["id"], "job.accepted"))).status_code == 200
    assert await rejected_rows(runtime, world.lab.tenant_id) == []
