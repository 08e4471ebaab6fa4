"""The fan-out's costs: publishes coalesced per tenant, each frame encoded once per replica."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import msgpack

from ils.api.realtime import gateway as gw
from ils.api.realtime.protocol import Outgoing
from ils.domain.access import Principal
from ils.domain.event import StoredEvent, Topic
from ils.domain.role import Role, TenantKind
from ils.services.room import Frame
from ils.services.rooms import RoomsPublisher

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def stored(tenant: str, seq: int) -> StoredEvent:
    return StoredEvent(tenant, seq, "order.created", Topic.ORDERS, T0, {"n": seq})


class SlowRooms:
    """Rooms whose publish takes a while: records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.gate = asyncio.Event()

    async def publish(self, tenant_id: str, frames: list[Frame]) -> int:
        self.calls.append((tenant_id, [f["seq"] for f in frames]))
        await self.gate.wait()
        return frames[-1]["seq"]


async def test_concurrent_publishes_of_a_tenant_share_one_room_call() -> None:
    rooms = SlowRooms()
    publisher = RoomsPublisher(rooms)  # type: ignore[arg-type]
    first = asyncio.create_task(publisher.publish([stored("a", 1), stored("b", 1)]))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(publisher.publish([stored("a", s)])) for s in (2, 3, 4)]
    await asyncio.sleep(0)
    assert not any(t.done() for t in [first, *rest])  # nobody answered before its call ends
    rooms.gate.set()
    await asyncio.gather(first, *rest)
    assert rooms.calls == [("a", [1]), ("b", [1]), ("a", [2, 3, 4])]


class FailingRooms:
    async def publish(self, tenant_id: str, frames: list[Frame]) -> int:
        raise ConnectionError("room away")


async def test_a_failed_room_call_reaches_its_callers() -> None:
    publisher = RoomsPublisher(FailingRooms())  # type: ignore[arg-type]
    try:
        await publisher.publish([stored("a", 1)])
    except ConnectionError:
        pass
    else:  # pragma: no cover - the test fails here
        raise AssertionError("the failure was swallowed")
    assert publisher._flushing == {}  # and the next publish starts afresh


def test_a_frame_is_encoded_once_per_encoding() -> None:
    frame = gw.pushed({"seq": 7, "topic": "orders", "event": {"type": "x", "n": 1}})
    text, again = frame.wire.encoded(False), frame.wire.encoded(False)
    assert text is again
    assert json.loads(text) == {"type": "event", "seq": 7, "event": {"type": "x", "n": 1}}
    packed = frame.wire.encoded(True)
    assert packed is frame.wire.encoded(True)
    assert msgpack.unpackb(packed, raw=False)["seq"] == 7


async def test_every_socket_of_a_replica_sends_the_same_encoded_frame() -> None:
    sent: list[list[Any]] = [[], []]

    def connection(k: int, role: Role) -> gw.Connection:
        async def send(body: Any) -> None:
            sent[k].append(body)

        async def close(code: int, reason: str) -> None:
            return None

        who = Principal(f"u{k}", "t", TenantKind.LAB, role)
        return gw.Connection(who, send, close, last_sent=0)

    gateway = gw.Gateway(None)  # type: ignore[arg-type]
    conns = [connection(0, Role.ADMIN), connection(1, Role.LAB_TECH)]
    for seq in (1, 2, 3):
        frame = gw.pushed({"seq": seq, "topic": "orders", "event": {"type": "x"}})
        for conn in conns:
            conn.offer(frame)
    pumps = [asyncio.create_task(gateway.pump(c)) for c in conns]
    await asyncio.sleep(0.01)
    for pump in pumps:
        pump.cancel()
    assert [[o["seq"] for o in s] for s in sent] == [[1, 2, 3], [1, 2, 3]]
    assert all(isinstance(o, Outgoing) for s in sent for o in s)
    assert all(a is b for a, b in zip(sent[0], sent[1], strict=True))
