"""Every LIMS event type moves the order as DOMAIN.md says, with its records and events."""

from __future__ import annotations

from typing import Any

import httpx

from ils.db import lims_inbound
from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order, read_order

MEASURED_OK = {
    "od": {"sphere": -2.25, "cylinder": -0.75, "axis": 180, "add": 2.0, "seg_height": 18.0},
    "os": {"sphere": -2.0, "cylinder": -0.5, "axis": 175, "add": 2.0, "seg_height": 18.0},
    "prism_imbalance": {"vertical": 0.1, "horizontal": 0.2},
}


async def _send(lims: Lims, order_id: str, kind: str, **data: Any) -> None:
    response = await lims.post(lims.event(order_id, kind, **data))
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "applied", response.json()


async def _where(client: httpx.AsyncClient, world: World, order_id: str) -> tuple[Any, ...]:
    order = await read_order(client, world, order_id)
    return order["status"], order["held_from"], order["station"]


async def test_a_job_through_the_lab(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    oid = str((await place_order(client, world))["id"])
    steps: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
        ("job.accepted", {"status": "accepted"}, ("in_production", None, None)),
        ("job.on_hold", {"station": "order_entry", "reason": "frame_missing"},
         ("on_hold", "in_production", "order_entry")),
        ("job.released", {"station": "order_entry"}, ("in_production", None, "order_entry")),
        ("job.station_changed", {"station": "surfacing", "status": "queued"},
         ("in_production", None, "surfacing")),
        ("job.station_changed", {"station": "surfacing", "status": "in_process"},
         ("in_production", None, "surfacing")),
        ("job.breakage", {"station": "surfacing", "reason_code": "blank_chipped", "shift": "day",
                          "restart_station": "picking"}, ("in_production", None, "picking")),
        ("job.station_changed", {"station": "final_inspection", "status": "queued"},
         ("quality_check", None, "final_inspection")),
        ("job.inspection", {"station": "final_inspection", "measured": MEASURED_OK,
                            "pass": False}, ("in_production", None, "final_inspection")),
        ("job.station_changed", {"station": "final_inspection", "status": "in_process"},
         ("quality_check", None, "final_inspection")),
        ("job.inspection", {"station": "final_inspection", "measured": MEASURED_OK,
                            "pass": True}, ("quality_check", None, "final_inspection")),
        ("job.station_changed", {"station": "shipping", "status": "done"},
         ("quality_check", None, "shipping")),
        ("job.shipped", {"carrier": "UPS", "tracking_number": "UP123"}, ("shipped", None, None)),
        ("job.delivered", {}, ("completed", None, None)),
    ]  # fmt: skip
    for kind, data, expected in steps:
        await _send(lims, oid, kind, **data)
        assert await _where(client, world, oid) == expected, kind
    order = await read_order(client, world, oid)
    assert order["lims_job_id"] == f"J-{oid[:8]}" and order["version"] > 1
    async with runtime.db.connection() as conn:
        breakages = await lims_inbound.breakages_of(conn, world.lab.tenant_id, oid)
        inspections = await lims_inbound.inspections_of(conn, world.lab.tenant_id, oid)
        delivered = await conn.fetchval("SELECT delivered_at FROM orders WHERE id = $1", oid)
    assert [
        (b["station"], b["reason_code"], b["shift"], b["restart_station"]) for b in breakages
    ] == [("surfacing", "blank_chipped", "day", "picking")]
    # ILS judges the same measurement itself: within Z80.1 whatever the LIMS said.
    assert [(i["lims_pass"], i["ils_pass"]) for i in inspections] == [(False, True), (True, True)]
    assert inspections[0]["verdict"]["fields"]
    assert delivered is not None


async def test_cancel_is_terminal(client: httpx.AsyncClient, world: World, lims: Lims) -> None:
    oid = str((await place_order(client, world))["id"])
    await _send(lims, oid, "job.accepted")
    await _send(lims, oid, "job.cancelled", reason="customer")
    assert await _where(client, world, oid) == ("cancelled", None, None)
    response = await lims.post(
        lims.event(oid, "job.station_changed", station="edging", status="queued")
    )
    assert response.json()["result"] == "late"
    assert await _where(client, world, oid) == ("cancelled", None, None)


async def test_late_event_never_moves_backwards(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    oid = str((await place_order(client, world))["id"])
    await _send(lims, oid, "job.station_changed", station="edging", status="queued", sequence=9)
    late = lims.event(oid, "job.breakage", station="surfacing", reason_code="x",
                      restart_station="picking", sequence=4)  # fmt: skip
    response = await lims.post(late)
    assert response.json()["result"] == "late"
    assert await _where(client, world, oid) == ("in_production", None, "edging")
    async with runtime.db.connection() as conn:
        recorded = await lims_inbound.breakages_of(conn, world.lab.tenant_id, oid)
        sequence = await conn.fetchval("SELECT lims_sequence FROM orders WHERE id = $1", oid)
    assert len(recorded) == 1 and sequence == 9  # the fact is kept, the order does not move


async def test_events_reach_both_logs_after_commit(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    oid = str((await place_order(client, world))["id"])
    publisher = runtime.publisher
    assert isinstance(publisher, RecordingPublisher)
    publisher.events.clear()
    await _send(lims, oid, "job.station_changed", station="picking", status="queued")
    published = {(e.tenant_id, e.type) for e in publisher.events}
    for tenant in (world.lab.tenant_id, world.practice.tenant_id):
        assert (tenant, "order.status_changed") in published
        assert (tenant, "order.station_changed") in published
    for party in (world.practice, world.lab):
        timeline = await client.get(f"/api/orders/{oid}/timeline", headers=party.auth)
        kinds = [e["type"] for e in timeline.json()["items"]]
        assert kinds == ["order.created", "order.status_changed", "order.station_changed"]
    other = await client.get(f"/api/orders/{oid}/timeline", headers=world.other_practice.auth)
    assert other.status_code == 404


async def test_a_lims_pass_that_fails_z80_1_records_a_qa_failure_and_sends_the_job_back(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    oid = str((await place_order(client, world))["id"])
    await _send(lims, oid, "job.station_changed", station="final_inspection", status="queued")
    off = {**MEASURED_OK, "od": {**MEASURED_OK["od"], "sphere": -1.75}}  # 0.50 D from -2.25
    body = {"station": "final_inspection", "measured": off, "pass": True}
    await _send(lims, oid, "job.inspection", **body)
    assert (await _where(client, world, oid))[0] == "in_production"  # back, never forward
    failures = (await client.get("/api/qc/failures", headers=world.lab.auth)).json()["items"]
    (failure,) = [f for f in failures if f["order_id"] == oid]
    assert "/od/sphere" in str(failure)
    async with runtime.db.connection() as conn:
        (inspection,) = await lims_inbound.inspections_of(conn, world.lab.tenant_id, oid)
    assert (inspection["lims_pass"], inspection["ils_pass"]) == (True, False)
