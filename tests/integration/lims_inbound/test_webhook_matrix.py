"""The webhook's bad-input matrix (API.md "LIMS"): each case gets its code and changes nothing."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from ils.domain.access import TenantKind
from ils.lims.signature import sign, sign_rotating
from ils.runtime import Runtime
from ils.services.lims_inbound import rotate_webhook_secret
from tests.integration.conftest import World, make_party
from tests.integration.lims_inbound.conftest import Lims, place_order, read_order, table_counts


@pytest.fixture
async def order_id(client: httpx.AsyncClient, world: World) -> str:
    return str((await place_order(client, world))["id"])


async def _state(runtime: Runtime) -> dict[str, int]:
    """What a refused webhook must not change (its own ``webhook.rejected`` audit row aside)."""
    counts = await table_counts(runtime)
    async with runtime.db.connection() as conn:
        rejected = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'webhook.rejected'"
        )
    counts["audit"] -= int(rejected)
    return counts


def _code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"]).removeprefix("/problems/")


async def test_bad_signature_changes_nothing(runtime: Runtime, lims: Lims, order_id: str) -> None:
    before = await _state(runtime)
    event = lims.event(order_id, "job.accepted")
    wrong = await lims.post(event, secret="not-the-secret")
    assert (wrong.status_code, _code(wrong)) == (401, "bad-signature")
    body = json.dumps(event).encode()
    tampered = await lims.client.post(
        f"/api/webhooks/lims/{lims.world.lab.tenant_id}",
        content=body + b" ",
        headers={"ILS-Signature": sign(lims.secret.encode(), body, int(time.time()))},
    )
    assert (tampered.status_code, _code(tampered)) == (401, "bad-signature")
    missing = await lims.client.post(f"/api/webhooks/lims/{lims.world.lab.tenant_id}", content=body)
    assert (missing.status_code, _code(missing)) == (401, "bad-signature")
    practice = await lims.post(event, lab_id=lims.world.practice.tenant_id)
    assert (practice.status_code, _code(practice)) == (401, "bad-signature")
    assert await _state(runtime) == before


async def test_stale_signature(runtime: Runtime, lims: Lims, order_id: str) -> None:
    before = await _state(runtime)
    old = await lims.post(lims.event(order_id, "job.accepted"), t=int(time.time()) - 301)
    assert (old.status_code, _code(old)) == (401, "stale-signature")
    ahead = await lims.post(lims.event(order_id, "job.accepted"), t=int(time.time()) + 400)
    assert (ahead.status_code, _code(ahead)) == (401, "stale-signature")
    assert await _state(runtime) == before
    recent = await lims.post(lims.event(order_id, "job.accepted"), t=int(time.time()) - 200)
    assert recent.status_code == 200


async def test_rotation_accepts_both_secrets(runtime: Runtime, lims: Lims, order_id: str) -> None:
    lab = lims.world.lab.tenant_id
    old = lims.secret
    new = await rotate_webhook_secret(runtime.db, runtime.settings, lab, runtime.clock())
    assert (await lims.post(lims.event(order_id, "job.accepted"), secret=old)).status_code == 200
    assert (await lims.post(lims.event(order_id, "job.released"), secret=new)).status_code == 200
    body = json.dumps(lims.event(order_id, "job.on_hold")).encode()
    both = sign_rotating([b"unknown", new.encode()], body, int(time.time()))
    response = await lims.client.post(
        f"/api/webhooks/lims/{lab}", content=body, headers={"ILS-Signature": both}
    )
    assert response.status_code == 200
    await rotate_webhook_secret(runtime.db, runtime.settings, lab, runtime.clock())
    refused = await lims.post(lims.event(order_id, "job.released"), secret=old)
    assert (refused.status_code, _code(refused)) == (401, "bad-signature")


async def test_oversize_body(runtime: Runtime, lims: Lims, order_id: str) -> None:
    before = await _state(runtime)
    event = lims.event(order_id, "job.accepted", padding="x" * (1024 * 1024))
    response = await lims.post(event)
    assert (response.status_code, _code(response)) == (413, "payload-too-large")
    assert await _state(runtime) == before


async def test_malformed_json(runtime: Runtime, lims: Lims, order_id: str) -> None:
    before = await _state(runtime)
    response = await lims.post(None, raw=b'{"id": "evt_1", "type": ')
    assert (response.status_code, _code(response)) == (422, "malformed-request")
    not_object = await lims.post([1, 2])
    assert not_object.status_code == 422
    assert await _state(runtime) == before


async def test_unknown_type_refuses_the_whole_batch(
    runtime: Runtime, lims: Lims, order_id: str
) -> None:
    before = await _state(runtime)
    single = await lims.post(lims.event(order_id, "job.teleported"))
    assert (single.status_code, _code(single)) == (422, "validation-failed")
    assert single.json()["errors"][0]["pointer"] == "/type"
    batch = {"events": [lims.event(order_id, "job.accepted"), lims.event(order_id, "job.x")]}
    response = await lims.post(batch)
    assert response.status_code == 422
    pointers = {e["pointer"]: e["code"] for e in response.json()["errors"]}
    assert pointers == {"/events/1/type": "unknown-event-type"}
    assert await _state(runtime) == before


async def test_bad_fields_are_pointed_at(runtime: Runtime, lims: Lims, order_id: str) -> None:
    event = lims.event(order_id, "job.station_changed", station="moon", status="queued")
    event["data"]["sequence"] = -1
    event["data"]["order_id"] = "nope"
    response = await lims.post(event)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/data/station", "/data/sequence", "/data/order_id"}
    too_many = await lims.post({"events": [lims.event(order_id, "job.accepted")] * 501})
    assert too_many.status_code == 422


async def test_replayed_id_is_a_duplicate(
    client: httpx.AsyncClient, runtime: Runtime, lims: Lims, order_id: str
) -> None:
    event = lims.event(order_id, "job.accepted")
    first = await lims.post(event)
    assert first.json()["result"] == "applied"
    before = await _state(runtime)
    again = await lims.post(event)
    assert again.status_code == 200
    assert again.json() == {"id": event["id"], "result": "duplicate", "duplicate": True}
    # The same id with another body is still the same event: nothing changes.
    event["data"]["sequence"] = 99
    event["type"] = "job.delivered"
    third = await lims.post(event)
    assert third.json()["duplicate"] is True
    assert await _state(runtime) == before
    assert (await read_order(client, lims.world, order_id))["status"] == "in_production"


async def test_unknown_job_and_another_labs_job(
    client: httpx.AsyncClient, runtime: Runtime, lims: Lims, order_id: str
) -> None:
    other_lab = await make_party(runtime, client, TenantKind.LAB, "Other Lab")
    await runtime.identity.link(other_lab.tenant_id, lims.world.practice.tenant_id, runtime.clock())
    before = await _state(runtime)
    unknown = await lims.post(lims.event(str(uuid.uuid4()), "job.accepted"))
    assert (unknown.status_code, _code(unknown)) == (404, "unknown-job")
    # The other lab signs correctly, but the order belongs to our lab.
    assert other_lab.webhook_secret
    foreign = await lims.post(
        lims.event(order_id, "job.accepted"),
        lab_id=other_lab.tenant_id,
        secret=other_lab.webhook_secret,
    )
    assert (foreign.status_code, _code(foreign)) == (404, "unknown-job")
    assert await _state(runtime) == before
    assert (await read_order(client, lims.world, order_id))["status"] == "pending"


async def test_another_job_id_is_a_mismatch(runtime: Runtime, lims: Lims, order_id: str) -> None:
    assert (await lims.post(lims.event(order_id, "job.accepted", job_id="J-1"))).status_code == 200
    before = await _state(runtime)
    response = await lims.post(lims.event(order_id, "job.released", job_id="J-2"))
    assert (response.status_code, _code(response)) == (409, "job-mismatch")
    assert await _state(runtime) == before


async def test_batch_answers_one_result_per_event_in_order(
    client: httpx.AsyncClient, runtime: Runtime, lims: Lims, order_id: str
) -> None:
    accepted = lims.event(order_id, "job.accepted", sequence=1)
    queued = lims.event(order_id, "job.station_changed", station="picking", status="queued")
    late = lims.event(order_id, "job.accepted", sequence=1)
    unknown = lims.event(str(uuid.uuid4()), "job.accepted")
    batch = {"events": [accepted, queued, accepted, late, unknown]}
    response = await lims.post(batch)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["applied", "applied", "duplicate", "late", "problem"]
    assert [r["id"] for r in results] == [e["id"] for e in batch["events"]]
    assert results[4]["problem"]["status"] == 404
    order = await read_order(client, lims.world, order_id)
    assert (order["status"], order["station"]) == ("in_production", "picking")
    async with runtime.db.connection() as conn:
        rows = await conn.fetch("SELECT event_id, outcome FROM lims_webhook_events ORDER BY n")
    assert [(r["event_id"], r["outcome"]) for r in rows] == [
        (accepted["id"], "applied"),
        (queued["id"], "applied"),
        (late["id"], "late"),
    ]
