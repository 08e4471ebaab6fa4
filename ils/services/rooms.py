"""Reaching tenant rooms: the port the gateway and the publisher use, and its in-process form.

On Ray the rooms are ``TenantRoom`` actors (``actors/gateways.py``); here they are ``Room``
objects in this process, which is what tests and a single-process deployment use.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ils.domain.event import StoredEvent
from ils.services.room import EventSource, Frame, Room


class RoomClient(Protocol):
    async def publish(self, tenant_id: str, frames: list[Frame]) -> int: ...

    async def poll(self, tenant_id: str, after: int, timeout_s: float) -> dict[str, Any]: ...

    async def read(self, tenant_id: str, after: int, limit: int) -> dict[str, Any]: ...

    async def head(self, tenant_id: str) -> int: ...

    async def set_presence(
        self, tenant_id: str, gateway_id: str, users: dict[str, int]
    ) -> None: ...


def frames_by_tenant(events: Sequence[StoredEvent]) -> dict[str, list[Frame]]:
    grouped: dict[str, list[Frame]] = defaultdict(list)
    for event in events:
        grouped[event.tenant_id].append(event.frame())
    return grouped


class RoomsPublisher:
    """The Publisher of committed events: each tenant's frames go to its room."""

    def __init__(self, rooms: RoomClient) -> None:
        self.rooms = rooms

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        grouped = frames_by_tenant(events)
        await asyncio.gather(*(self.rooms.publish(t, f) for t, f in grouped.items()))


def poll_dict(result: Any) -> dict[str, Any]:
    return {"frames": result.frames, "head": result.head, "reset": result.reset}


class LocalRooms:
    """Rooms living in this process, created on first use."""

    def __init__(
        self, source: EventSource, remember: Callable[[str, list[Frame]], Any] | None = None
    ) -> None:
        self.source = source
        self.remember = remember
        self.rooms: dict[str, Room] = {}
        self._lock = asyncio.Lock()

    async def room(self, tenant_id: str) -> Room:
        if tenant_id not in self.rooms:
            async with self._lock:
                if tenant_id not in self.rooms:
                    hook = None
                    if self.remember is not None:
                        remember = self.remember

                        async def hook(frames: list[Frame]) -> None:
                            await remember(tenant_id, frames)

                    room = Room(tenant_id, self.source, on_append=hook)
                    await room.start()
                    self.rooms[tenant_id] = room
        return self.rooms[tenant_id]

    async def publish(self, tenant_id: str, frames: list[Frame]) -> int:
        return await (await self.room(tenant_id)).publish(frames)

    async def poll(self, tenant_id: str, after: int, timeout_s: float) -> dict[str, Any]:
        return poll_dict(await (await self.room(tenant_id)).poll(after, timeout_s))

    async def read(self, tenant_id: str, after: int, limit: int) -> dict[str, Any]:
        return poll_dict(await (await self.room(tenant_id)).read(after, limit))

    async def head(self, tenant_id: str) -> int:
        return await (await self.room(tenant_id)).catch_up()

    async def set_presence(self, tenant_id: str, gateway_id: str, users: dict[str, int]) -> None:
        (await self.room(tenant_id)).set_presence(gateway_id, users)
