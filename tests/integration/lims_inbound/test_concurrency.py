"""De-duplication is the database's: concurrent and cross-request replays apply once."""

from __future__ import annotations

import asyncio

import httpx

from ils.runtime import Runtime
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order, read_order


async def test_concurrent_replays_apply_once(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    oid = str((await place_order(client, world))["id"])
    event = lims.event(oid, "job.station_changed", station="picking", status="queued")
    responses = await asyncio.gather(*(lims.post(event) for _ in range(6)))
    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["result"] for r in responses) == ["applied"] + ["duplicate"] * 5
    async with runtime.db.connection() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM lims_webhook_events")
        version = await conn.fetchval("SELECT version FROM orders WHERE id = $1", oid)
    assert rows == 1 and version == 2


async def test_a_batch_replaying_an_earlier_request(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    oid = str((await place_order(client, world))["id"])
    first = lims.event(oid, "job.station_changed", station="picking", status="queued")
    assert (await lims.post(first)).json()["result"] == "applied"
    # The replayed event sits before fresh ones: they are decided without it.
    later = lims.event(oid, "job.station_changed", station="picking", status="in_process")
    late = lims.event(oid, "job.accepted", sequence=1)
    moved = lims.event(oid, "job.station_changed", station="edging", status="queued")
    response = await lims.post({"events": [first, later, late, moved]})
    assert [r["result"] for r in response.json()["results"]] == [
        "duplicate",
        "applied",
        "late",
        "applied",
    ]
    async with runtime.db.connection() as conn:
        rows = await conn.fetch("SELECT event_id, outcome FROM lims_webhook_events ORDER BY n")
    assert [r["outcome"] for r in rows] == ["applied", "applied", "late", "applied"]
    order = await read_order(client, world, oid)
    assert (order["status"], order["station"]) == ("in_production", "edging")


async def test_concurrent_webhooks_of_a_lab_apply_as_if_one_by_one(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    """Concurrent requests share transactions (group commit); each still gets its own answer,
    every event is applied once, the log stays dense, and the audit rows name every event."""
    orders = [str((await place_order(client, world))["id"]) for _ in range(8)]
    events = [lims.event(oid, "job.accepted") for oid in orders]  # one per job: any order is fine
    unknown = lims.event("00000000-0000-4000-8000-000000000000", "job.accepted")
    batch = [events[0], events[-1]]
    bodies: list[object] = [*events, unknown, {"events": batch}]
    responses = await asyncio.gather(*(lims.post(b) for b in bodies))
    answers = [r.json() for r in responses]
    assert [r.status_code for r in responses] == [200] * len(events) + [404, 200]
    # The batch repeats two events sent on their own at the same time: whichever request's
    # transaction comes first applies each, and the other answers duplicate.
    results = [(e["id"], a["result"]) for e, a in zip(events, answers[: len(events)], strict=True)]
    results += [(e["id"], r["result"]) for e, r in zip(batch, answers[-1]["results"], strict=True)]
    for event in events:
        outcomes = sorted(result for eid, result in results if eid == event["id"])
        repeated = any(event["id"] == e["id"] for e in batch)
        assert outcomes == (["applied", "duplicate"] if repeated else ["applied"])
    async with runtime.db.connection() as conn:
        seqs = await conn.fetch(
            "SELECT seq FROM events WHERE tenant_id = $1 ORDER BY seq", world.lab.tenant_id
        )
        audited = await conn.fetch(
            "SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'lims.webhook'",
            world.lab.tenant_id,
        )
        claimed = await conn.fetchval("SELECT count(*) FROM lims_webhook_events")
    assert [r["seq"] for r in seqs] == list(range(1, len(seqs) + 1))
    named = [e for row in audited for e, result in row["details"]["events"] if result == "applied"]
    assert sorted(named) == sorted(e["id"] for e in events)
    assert claimed == len(events)


async def test_openapi_documents_the_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    webhook = paths["/api/webhooks/lims/{lab_tenant_id}"]["post"]
    schema = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert len(schema["anyOf"]) == 2
    assert "put" in paths["/api/lab/stations/{station}"]
    assert "get" in paths["/api/lab/stations"]
