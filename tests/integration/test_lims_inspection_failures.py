"""LIMS inspections that fail ILS's own Z80.1 verdict: a QA failure linked to the LIMS inspection,
and the job sent back to production (never forward), as the webhook handler would call it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from ils.db import lims_inbound, orders, tenants
from ils.domain.lims_event import judge
from ils.runtime import Runtime
from ils.services.orders import append_order_events
from ils.services.quality import record_lims_inspections
from tests.integration.conftest import World
from tests.integration.test_qc_api import GOOD, measured, order_at


def lims_record(order: dict[str, Any], body: dict[str, Any], lims_pass: bool) -> dict[str, Any]:
    """The record the webhook handler builds for a ``job.inspection`` event."""
    verdict = judge(order["rx"], str(order["lens"]["type"]), body).as_dict()
    return {
        "id": str(uuid.uuid4()), "order_id": order["id"], "job_id": "J-1",
        "event_id": f"evt-{uuid.uuid4()}", "occurred_at": None, "measured": body,
        "lims_pass": lims_pass, "verdict": verdict, "ils_pass": verdict["pass"],
    }  # fmt: skip


async def _webhook(runtime: Runtime, lab_id: str, records: list[dict[str, Any]]) -> list[str]:
    now = runtime.clock()
    for r in records:
        r["occurred_at"] = now
    async with runtime.db.transaction() as conn:
        await lims_inbound.insert_inspections(conn, lab_id, records)
        row = await orders.get_visible(conn, records[0]["order_id"], lab_id, for_update=True)
        assert row is not None
        await tenants.lock_heads(conn, [lab_id, row["practice_id"]])
        new = await record_lims_inspections(conn, lab_id, records, now)
        await append_order_events(conn, row, new)
    return [e.type for e in new]


async def _order(runtime: Runtime, world: World, order_id: str) -> dict[str, Any]:
    async with runtime.db.connection() as conn:
        row = await orders.get_visible(conn, order_id, world.lab.tenant_id)
    assert row is not None
    return row


async def test_a_failed_verdict_records_a_failure_and_sends_the_job_back(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    order = await _order(
        runtime, world, (await order_at(client, world, "in_production", "quality_check"))["id"]
    )
    record = lims_record(order, measured(axis=174), lims_pass=True)  # the LIMS let it through
    types = await _webhook(runtime, world.lab.tenant_id, [record])
    assert types == ["qa.failure_recorded", "order.status_changed"]
    assert (await _order(runtime, world, order["id"]))["status"] == "in_production"
    failures = (await client.get("/api/qc/failures", headers=world.lab.auth)).json()["items"]
    [failure] = failures
    assert failure["lims_inspection_id"] == record["id"] and failure["inspection_id"] is None
    assert failure["details"]["failed_fields"] == ["/od/axis"]
    assert failure["details"]["lims_pass"] is True
    timeline = await client.get(f"/api/orders/{order['id']}/timeline", headers=world.practice.auth)
    assert [e["type"] for e in timeline.json()["items"]][-2:] == types


async def test_a_pass_or_an_unjudged_record_changes_nothing(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    order = await _order(
        runtime, world, (await order_at(client, world, "in_production", "quality_check"))["id"]
    )
    passed = lims_record(order, GOOD, lims_pass=False)
    unjudged = {**lims_record(order, GOOD, lims_pass=False), "ils_pass": None, "verdict": None}
    assert await _webhook(runtime, world.lab.tenant_id, [passed, unjudged]) == []
    assert (await _order(runtime, world, order["id"]))["status"] == "quality_check"
    assert (await client.get("/api/qc/failures", headers=world.lab.auth)).json()["items"] == []


async def test_a_job_no_longer_at_inspection_is_not_moved(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    order = await _order(runtime, world, (await order_at(client, world, "in_production"))["id"])
    record = lims_record(order, measured(sphere=-3.0), lims_pass=False)
    assert await _webhook(runtime, world.lab.tenant_id, [record]) == ["qa.failure_recorded"]
    assert (await _order(runtime, world, order["id"]))["status"] == "in_production"
