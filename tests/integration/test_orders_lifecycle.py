"""Orders end to end: validation, idempotency, atomicity, transitions, lists, timeline, remakes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ils.db import events as event_log
from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from tests.integration.conftest import World, order_body


async def _place(client: httpx.AsyncClient, world: World, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id, **changes), headers=world.practice.auth
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _count(runtime: Runtime, table: str) -> int:
    async with runtime.db.connection() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # table names are ours


async def test_validate_reports_errors_and_warnings_with_pointers_and_stores_nothing(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    body = order_body(world.lab.tenant_id)
    body["rx"]["od"]["axis"] = None  # cylinder without axis
    body["lens"]["type"] = "single_vision"  # add refused for single vision
    response = await client.post("/api/orders/validate", json=body, headers=world.practice.auth)
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    pointers = {(e["pointer"], e["code"]) for e in result["errors"]}
    assert ("/rx/od/axis", "axis-required") in pointers
    assert any(p == "/rx/od/add" for p, _ in pointers)
    assert await _count(runtime, "orders") == 0


async def test_an_invalid_order_is_refused_with_422_and_nothing_changes(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    body = order_body(world.lab.tenant_id)
    body["rx"]["os"]["seg_height"] = None  # progressive without fitting height
    response = await client.post("/api/orders", json=body, headers=world.practice.auth)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/validation-failed"
    assert {"pointer": "/rx/os/seg_height"}.items() <= problem["errors"][0].items() or any(
        e["pointer"] == "/rx/os/seg_height" for e in problem["errors"]
    )
    for table in ("orders", "events", "outbox", "idempotency_keys"):
        assert await _count(runtime, table) == 0


@pytest.mark.parametrize(
    ("content", "pointer_part"),
    [
        (b'{"lab_id": ', ""),  # malformed JSON
        (b'{"rx": "strings are not prescriptions"}', "/rx"),
        (b'{"unknown_field": 1}', "/unknown_field"),
    ],
)
async def test_malformed_and_mistyped_bodies_are_problems(
    client: httpx.AsyncClient, world: World, runtime: Runtime, content: bytes, pointer_part: str
) -> None:
    response = await client.post(
        "/api/orders",
        content=content,
        headers={**world.practice.auth, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(pointer_part in e["pointer"] for e in response.json()["errors"])
    assert await _count(runtime, "orders") == 0


async def test_a_string_where_a_number_belongs_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    body = order_body(world.lab.tenant_id)
    body["rx"]["od"]["sphere"] = "-2.25"
    response = await client.post("/api/orders", json=body, headers=world.practice.auth)
    assert response.status_code == 422
    assert any(e["pointer"] == "/rx/od/sphere" for e in response.json()["errors"])


async def test_only_linked_labs_and_only_practices_may_be_ordered_from(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    unlinked = await client.post(
        "/api/orders", json=order_body(world.practice.tenant_id), headers=world.practice.auth
    )
    assert unlinked.status_code == 422
    assert unlinked.json()["errors"][0]["code"] == "lab-not-linked"
    lab_tries = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.lab.auth
    )
    assert lab_tries.status_code == 403
    assert await _count(runtime, "orders") == 0


async def test_repeated_idempotency_key_returns_the_same_order(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    headers = {**world.practice.auth, "Idempotency-Key": "order-form-7f3a"}
    body = order_body(world.lab.tenant_id)
    first = await client.post("/api/orders", json=body, headers=headers)
    second = await client.post("/api/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await _count(runtime, "orders") == 1
    changed = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id, patient_ref="P-2"), headers=headers
    )
    assert changed.status_code == 409
    assert changed.json()["type"] == "/problems/idempotency-key-reused"
    assert await _count(runtime, "orders") == 1


async def test_concurrent_requests_with_one_key_create_one_order(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    headers = {**world.practice.auth, "Idempotency-Key": "double-click"}
    body = order_body(world.lab.tenant_id)
    responses = await asyncio.gather(
        *[client.post("/api/orders", json=body, headers=headers) for _ in range(5)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(runtime, "orders") == 1


async def test_a_crash_between_two_writes_leaves_no_half_written_order(
    client: httpx.AsyncClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ils.db import orders as order_rows

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut after the order row was written")

    audit_before = await _count(runtime, "audit_log")
    monkeypatch.setattr(order_rows, "enqueue", crash)
    response = await client.post(
        "/api/orders",
        json=order_body(world.lab.tenant_id),
        headers={**world.practice.auth, "Idempotency-Key": "k1"},
    )
    assert response.status_code == 500
    assert "power cut" not in response.text  # internal details never reach the body
    for table in ("orders", "events", "outbox", "idempotency_keys"):
        assert await _count(runtime, table) == 0
    assert await _count(runtime, "audit_log") == audit_before
    async with runtime.db.connection() as conn:
        assert await event_log.head(conn, world.practice.tenant_id) == 0
    monkeypatch.undo()
    retry = await client.post(
        "/api/orders",
        json=order_body(world.lab.tenant_id),
        headers={**world.practice.auth, "Idempotency-Key": "k1"},
    )
    assert retry.status_code == 201
    assert await _count(runtime, "orders") == 1


async def test_events_are_written_to_both_logs_with_dense_sequences_and_published_after_commit(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    publisher = runtime.publisher
    assert isinstance(publisher, RecordingPublisher)
    for _ in range(3):
        await _place(client, world)
    async with runtime.db.connection() as conn:
        practice_log = await event_log.since(conn, world.practice.tenant_id, 0)
        lab_log = await event_log.since(conn, world.lab.tenant_id, 0)
    assert [e.seq for e in practice_log] == [1, 2, 3]
    assert [e.seq for e in lab_log] == [1, 2, 3]
    assert {e.type for e in lab_log} == {"order.created"}
    published = [(e.tenant_id, e.seq) for e in publisher.events]
    assert sorted(published) == sorted([(e.tenant_id, e.seq) for e in practice_log + lab_log])


async def test_transitions_follow_the_state_machine_and_the_roles(
    client: httpx.AsyncClient, world: World
) -> None:
    order = await _place(client, world)
    url = f"/api/orders/{order['id']}/transitions"
    bad = await client.post(url, json={"to": "shipped"}, headers=world.practice.auth)
    assert bad.status_code == 409
    problem = bad.json()
    assert problem["type"] == "/problems/invalid-transition"
    assert "cancelled" in problem["allowed"]
    held = await client.post(
        url, json={"to": "on_hold", "reason": "frame missing"}, headers=world.practice.auth
    )
    assert held.status_code == 200 and held.json()["status"] == "on_hold"
    assert held.json()["held_from"] == "pending"
    released = await client.post(url, json={"to": "pending"}, headers=world.practice.auth)
    assert released.json()["status"] == "pending"
    moved = await client.post(url, json={"to": "in_production"}, headers=world.lab.auth)
    assert moved.status_code == 200 and moved.json()["version"] == 4
    late_cancel = await client.post(url, json={"to": "cancelled"}, headers=world.practice.auth)
    assert late_cancel.status_code == 409
    unknown = await client.post(url, json={"to": "teleported"}, headers=world.lab.auth)
    assert unknown.status_code == 422
    hidden = await client.post(url, json={"to": "cancelled"}, headers=world.other_practice.auth)
    assert hidden.status_code == 404
    timeline = (
        await client.get(f"/api/orders/{order['id']}/timeline", headers=world.practice.auth)
    ).json()["items"]
    assert [e["type"] for e in timeline] == ["order.created"] + ["order.status_changed"] * 3
    assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)
    assert timeline[-1]["to"] == "in_production"


async def test_lists_filter_and_paginate_within_the_tenant(
    client: httpx.AsyncClient, world: World
) -> None:
    made = [await _place(client, world, patient_ref=f"P-{i}") for i in range(5)]
    other = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.other_practice.auth
    )
    assert other.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/orders", params=params, headers=world.practice.auth)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [o["id"] for o in reversed(made)]
    lab_view = (
        await client.get("/api/orders", params={"limit": 500}, headers=world.lab.auth)
    ).json()
    assert len(lab_view["items"]) == 6
    by_practice = await client.get(
        "/api/orders",
        headers=world.lab.auth,
        params={"practice_id": world.other_practice.tenant_id},
    )
    assert [o["id"] for o in by_practice.json()["items"]] == [other.json()["id"]]
    bad_cursor = await client.get(
        "/api/orders", params={"cursor": "nonsense"}, headers=world.practice.auth
    )
    assert bad_cursor.status_code == 422
    too_many = await client.get("/api/orders", params={"limit": 501}, headers=world.lab.auth)
    assert too_many.status_code == 422
    pending = (
        await client.get("/api/orders", params={"status": "shipped"}, headers=world.lab.auth)
    ).json()
    assert pending["items"] == []


async def test_a_non_adapt_creates_a_linked_remake_and_never_reopens_the_order(
    client: httpx.AsyncClient, world: World
) -> None:
    order = await _place(client, world)
    url = f"/api/orders/{order['id']}"
    early = await client.post(
        f"{url}/non-adapts", json={"reason": "swim"}, headers=world.practice.auth
    )
    assert early.status_code == 422  # not delivered yet
    for to in ("in_production", "quality_check", "shipped"):
        moved = await client.post(f"{url}/transitions", json={"to": to}, headers=world.lab.auth)
        assert moved.status_code == 200, moved.text
    done = await client.post(
        f"{url}/transitions", json={"to": "completed"}, headers=world.practice.auth
    )
    assert done.status_code == 200, done.text
    filed = await client.post(
        f"{url}/non-adapts",
        headers=world.practice.auth,
        json={"reason": "cannot adapt to the corridor", "symptoms": ["swim", "narrow reading"]},
    )
    assert filed.status_code == 201, filed.text
    record = filed.json()
    assert record["within_warranty"] is True
    remake = record["remake_order"]
    assert remake["remake_of"] == order["id"] and remake["status"] == "pending"
    assert remake["order_number"] != order["order_number"]
    original = (await client.get(url, headers=world.practice.auth)).json()
    assert original["status"] == "completed"
    wrong = await client.post(
        f"{url}/returns",
        headers=world.practice.auth,
        json={"category": "bad-category", "reason": "x"},
    )
    assert wrong.status_code == 422


async def test_releasing_a_refused_order_submits_it_to_the_lims_again(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    order = await _place(client, world)
    async with runtime.db.connection() as conn:
        # The relay's fate for a LIMS refusal: the submission failed, the order is held.
        await conn.execute("UPDATE outbox SET failed_at = now() WHERE order_id = $1", order["id"])
    url = f"/api/orders/{order['id']}/transitions"
    assert (await client.post(url, json={"to": "on_hold"}, headers=world.practice.auth)).is_success
    released = await client.post(url, json={"to": "pending"}, headers=world.practice.auth)
    assert released.status_code == 200
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT sent_at, failed_at FROM outbox WHERE order_id = $1 ORDER BY id", order["id"]
        )
    assert [(r["sent_at"], r["failed_at"] is not None) for r in rows] == [
        (None, True),
        (None, False),
    ]
    again = await client.post(url, json={"to": "on_hold"}, headers=world.practice.auth)
    assert again.status_code == 200
    await client.post(url, json={"to": "pending"}, headers=world.practice.auth)
    async with runtime.db.connection() as conn:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE order_id = $1 AND failed_at IS NULL", order["id"]
        )
    assert waiting == 1  # a submission already waiting is not queued twice
