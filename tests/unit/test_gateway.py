"""The gateway never moves a socket past a hole: it fills it or asks the client to resume."""

from __future__ import annotations

import asyncio
from typing import Any

from ils.api.realtime import gateway as gw
from ils.api.realtime.protocol import CLOSE_RESUME_IMPOSSIBLE
from ils.domain.access import Principal
from ils.domain.role import Role, TenantKind


def frame(seq: int) -> dict[str, Any]:
    return {"seq": seq, "topic": "orders", "event": {"type": "order.created", "n": seq}}


class Rooms:
    """A room that holds ``held`` frames (and answers nothing else)."""

    def __init__(self, held: list[int]) -> None:
        self.held = held
        self.reads = 0

    async def read(self, tenant_id: str, after: int, limit: int) -> dict[str, Any]:
        self.reads += 1
        frames = [frame(s) for s in self.held if s > after][:limit]
        return {"frames": frames, "head": max(self.held, default=0), "reset": False}

    async def set_presence(self, *args: Any) -> None:
        return None


def connection(sent: list[int], closed: list[int]) -> gw.Connection:
    async def send(body: dict[str, Any]) -> None:
        sent.append(body["seq"])

    async def close(code: int, reason: str) -> None:
        closed.append(code)

    who = Principal("u", "t", TenantKind.LAB, Role.ADMIN)
    return gw.Connection(who, send, close, last_sent=3)


def test_a_hole_is_filled_from_the_room_in_order() -> None:
    sent: list[int] = []
    conn = connection(sent, [])
    gateway = gw.Gateway(Rooms([4, 5, 6, 7]))  # type: ignore[arg-type]
    asyncio.run(gateway.send_in_order(conn, frame(7)))
    asyncio.run(gateway.send_in_order(conn, frame(6)))  # already sent: skipped
    assert sent == [4, 5, 6, 7] and conn.last_sent == 7


def test_an_unfillable_hole_closes_the_socket_with_a_resume_hint(monkeypatch: Any) -> None:
    monkeypatch.setattr(gw, "GAP_TRIES", 2)
    sent: list[int] = []
    closed: list[int] = []
    conn = connection(sent, closed)
    rooms = Rooms([5, 6])  # seq 4 is nowhere to be read
    gateway = gw.Gateway(rooms)  # type: ignore[arg-type]

    async def scenario() -> None:
        conn.queue.put_nowait(frame(6))
        await asyncio.wait_for(gateway.pump(conn), 5)

    asyncio.run(scenario())
    assert sent == [] and conn.last_sent == 3
    assert closed == [CLOSE_RESUME_IMPOSSIBLE]
    assert rooms.reads == 3
