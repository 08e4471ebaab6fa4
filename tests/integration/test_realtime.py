"""Real-time sync through rooms and the WebSocket gateway, in one process over loopback."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest
import websockets

from ils.db import events as event_log
from ils.domain.access import TenantKind
from ils.settings import Settings
from tests.integration.conftest import World, make_party, order_body
from tests.integration.realtime_stack import Screen, Stack, realtime_stack


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with realtime_stack(settings) as s:
        yield s


@pytest.fixture
async def people(stack: Stack) -> World:
    lab = await make_party(stack.runtime, stack.client, TenantKind.LAB, "Live Lab")
    practice = await make_party(stack.runtime, stack.client, TenantKind.PRACTICE, "Live Practice")
    other = await make_party(stack.runtime, stack.client, TenantKind.PRACTICE, "Quiet Practice")
    now = stack.runtime.clock()
    await stack.runtime.identity.link(lab.tenant_id, practice.tenant_id, now)
    await stack.runtime.identity.link(lab.tenant_id, other.tenant_id, now)
    return World(lab, practice, other)


async def _place(stack: Stack, world: World) -> dict[str, Any]:
    response = await stack.client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _move(stack: Stack, world: World, order_id: str, to: str) -> None:
    party = world.lab if to in ("in_production", "quality_check", "shipped") else world.practice
    response = await stack.client.post(
        f"/api/orders/{order_id}/transitions", json={"to": to}, headers=party.auth
    )
    assert response.status_code == 200, response.text


async def _head(stack: Stack, tenant_id: str) -> int:
    async with stack.runtime.db.connection() as conn:
        return await event_log.head(conn, tenant_id)


async def test_both_tenants_see_a_new_order_and_other_practices_do_not(
    stack: Stack, people: World
) -> None:
    screens = [
        await Screen.open(stack.ws_url, p.token)
        for p in (people.practice, people.lab, people.other_practice)
    ]
    for screen in screens:
        ready = await screen.next()
        assert ready["type"] == "ready" and ready["seq"] == 0
    order = await _place(stack, people)
    for screen in screens[:2]:
        frame = await screen.next()
        assert frame["type"] == "event" and frame["seq"] == 1
        assert frame["event"]["type"] == "order.created"
        assert frame["event"]["order"]["id"] == order["id"]
    with pytest.raises(TimeoutError):
        await screens[2].next(timeout=0.5)
    for screen in screens:
        await screen.close()


async def test_resume_delivers_every_missed_event_once_in_order(
    stack: Stack, people: World
) -> None:
    order = await _place(stack, people)
    screen = await Screen.open(stack.ws_url, people.practice.token)
    assert (await screen.next())["seq"] == 1
    await screen.close()
    await _move(stack, people, order["id"], "on_hold")
    await _move(stack, people, order["id"], "pending")
    await _place(stack, people)
    again = await Screen.open(stack.ws_url, people.practice.token, since=1)
    ready = await again.next()
    assert ready == {"type": "ready", "tenant_id": people.practice.tenant_id, "seq": 4}
    got = await again.events_until(4)
    assert [f["seq"] for f in got] == [2, 3, 4]
    assert [f["event"]["type"] for f in got] == ["order.status_changed"] * 2 + ["order.created"]
    await _place(stack, people)
    assert (await again.next())["seq"] == 5
    await again.close()


async def test_state_at_n_plus_the_events_after_n_equals_a_fresh_read(
    stack: Stack, people: World
) -> None:
    """Zulip's replay test for every order event type ILS emits today."""
    first = await _place(stack, people)
    await _place(stack, people)
    listing = await stack.client.get(
        "/api/orders", headers=people.practice.auth, params={"limit": 500}
    )
    n = await _head(stack, people.practice.tenant_id)
    state = {
        o["id"]: {"status": o["status"], "version": o["version"]} for o in listing.json()["items"]
    }
    third = await _place(stack, people)
    for to in ("in_production", "quality_check", "shipped"):
        await _move(stack, people, first["id"], to)
    await _move(stack, people, first["id"], "completed")
    filed = await stack.client.post(
        f"/api/orders/{first['id']}/non-adapts",
        headers=people.practice.auth,
        json={"reason": "swim"},
    )
    assert filed.status_code == 201
    await _move(stack, people, third["id"], "cancelled")
    head = await _head(stack, people.practice.tenant_id)
    screen = await Screen.open(stack.ws_url, people.practice.token, since=n)
    await screen.next()
    for frame in await screen.events_until(head):
        summary = frame["event"]["order"]
        state[summary["id"]] = {"status": summary["status"], "version": summary["version"]}
    await screen.close()
    fresh = await stack.client.get(
        "/api/orders", headers=people.practice.auth, params={"limit": 500}
    )
    assert state == {
        o["id"]: {"status": o["status"], "version": o["version"]} for o in fresh.json()["items"]
    }


async def test_random_disconnects_never_lose_or_repeat_an_event(
    stack: Stack, people: World
) -> None:
    rng = random.Random(7)
    seen: list[int] = []
    last = 0
    for _round in range(12):
        screen = await Screen.open(stack.ws_url, people.lab.token, since=last)
        head = (await screen.next())["seq"]
        for _ in range(rng.randint(0, 3)):
            await _place(stack, people)
        target = await _head(stack, people.lab.tenant_id)
        if target > last:
            stop_at = rng.randint(last + 1, target)  # drop off somewhere in the stream
            frames = await screen.events_until(stop_at)
            seen += [f["seq"] for f in frames]
            last = frames[-1]["seq"]
        assert head >= 0
        await screen.close()
    final = await Screen.open(stack.ws_url, people.lab.token, since=last)
    head = (await final.next())["seq"]
    if head > last:
        seen += [f["seq"] for f in await final.events_until(head)]
    await final.close()
    assert seen == list(range(1, head + 1))


async def test_a_lost_publish_is_recovered_from_the_log(
    stack: Stack, people: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = await Screen.open(stack.ws_url, people.practice.token)
    await screen.next()
    publisher = stack.runtime.orders.publisher
    original = publisher.publish
    dropped = {"n": 0}

    async def lossy(events: Any) -> None:
        if dropped["n"] == 0:
            dropped["n"] += 1
            return  # the first publish vanishes after commit
        await original(events)

    monkeypatch.setattr(publisher, "publish", lossy)
    await _place(stack, people)
    await _place(stack, people)
    got = await screen.events_until(2)
    assert [f["seq"] for f in got] == [1, 2]
    await screen.close()


async def test_bad_tokens_future_since_and_bad_frames_get_their_codes(
    stack: Stack, people: World
) -> None:
    bad = await Screen.open(stack.ws_url, "not-a-token")
    assert (await bad.next())["type"] == "error"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await bad.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    future = await Screen.open(stack.ws_url, people.practice.token, since=99)
    assert (await future.next())["code"] == "since-in-future"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await future.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409

    ok = await Screen.open(stack.ws_url, people.practice.token)
    await ok.next()
    await ok.ws.send("this is not json")
    assert (await ok.next())["code"] == "bad-frame"
    await ok.ws.send(json.dumps({"type": "subscribe", "topics": ["nonsense"]}))
    assert (await ok.next())["code"] == "bad-frame"
    await ok.ws.send(json.dumps({"type": "ping"}))
    assert (await ok.next())["type"] == "pong"
    await _place(stack, people)
    assert (await ok.next())["type"] == "event"  # still connected and served

    flooder = await Screen.open(stack.ws_url, people.lab.token)
    await flooder.next()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        for _ in range(200):
            await flooder.ws.send(json.dumps({"type": "pong"}))
        while True:
            await flooder.next(timeout=2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await _place(stack, people)
    assert (await ok.next())["type"] == "event"  # the flood did not disturb anyone else
    await ok.close()


async def test_subscription_filter_and_msgpack(stack: Stack, people: World) -> None:
    screen = await Screen.open(stack.ws_url, people.lab.token, subprotocols=["ils.msgpack"])
    assert screen.ws.subprotocol == "ils.msgpack"
    ready = msgpack.unpackb(await asyncio.wait_for(screen.ws.recv(), 5))
    assert ready["type"] == "ready"
    await screen.ws.send(msgpack.packb({"type": "subscribe", "topics": ["alerts"]}))
    await _place(stack, people)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(screen.ws.recv(), 0.5)
    await screen.ws.send(msgpack.packb({"type": "subscribe", "topics": ["orders", "alerts"]}))
    await _place(stack, people)
    frame = msgpack.unpackb(await asyncio.wait_for(screen.ws.recv(), 5))
    assert frame["type"] == "event" and frame["seq"] == 2
    await screen.close()


async def test_replay_holds_for_webhook_driven_events_in_both_tenants(
    stack: Stack, people: World
) -> None:
    """State at N + events after N = fresh read, across every LIMS event type, lab and practice."""
    from tests.integration.lims_inbound.conftest import Lims
    from tests.integration.lims_inbound.test_event_types import MEASURED_OK

    assert people.lab.webhook_secret
    lims = Lims(stack.client, people, people.lab.webhook_secret)
    first, second = await _place(stack, people), await _place(stack, people)

    def view(orders: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {o["id"]: (o["status"], o["station"], o["version"]) for o in orders}

    async def snapshot(party: Any) -> tuple[dict[str, tuple[Any, ...]], int]:
        listing = await stack.client.get("/api/orders", headers=party.auth, params={"limit": 500})
        return view(listing.json()["items"]), await _head(stack, party.tenant_id)

    before = {p.tenant_id: await snapshot(p) for p in (people.lab, people.practice)}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (first["id"], "job.accepted", {"status": "accepted"}),
        (first["id"], "job.station_changed", {"station": "surfacing", "status": "in_process"}),
        (
            first["id"],
            "job.breakage",
            {
                "station": "surfacing",
                "reason_code": "blank_chipped",
                "shift": "day",
                "restart_station": "picking",
            },
        ),
        (second["id"], "job.accepted", {"status": "accepted"}),
        (second["id"], "job.on_hold", {"station": "order_entry", "reason": "frame_missing"}),
        (first["id"], "job.station_changed", {"station": "final_inspection", "status": "queued"}),
        (
            first["id"],
            "job.inspection",
            {"station": "final_inspection", "measured": MEASURED_OK, "pass": True},
        ),
        (second["id"], "job.released", {"station": "order_entry"}),
        (first["id"], "job.shipped", {"carrier": "UPS", "tracking_number": "1Z"}),
        (first["id"], "job.delivered", {}),
        (second["id"], "job.cancelled", {"reason": "practice request"}),
    ]
    for order_id, kind, data in steps:
        response = await lims.post(lims.event(order_id, kind, **data))
        assert response.status_code == 200, response.text
    for party in (people.lab, people.practice):
        state, n = before[party.tenant_id]
        fresh, head = await snapshot(party)
        screen = await Screen.open(stack.ws_url, party.token, since=n)
        await screen.next()
        types = set()
        for frame in await screen.events_until(head):
            types.add(frame["event"]["type"])
            order = frame["event"].get("order")
            if order:
                state[order["id"]] = (order["status"], order["station"], order["version"])
        await screen.close()
        assert state == fresh, party.tenant_id
        assert {"order.status_changed", "breakage.recorded", "inspection.recorded"} <= types
