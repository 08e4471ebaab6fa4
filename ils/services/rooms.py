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
    """The Publisher of committed events: each tenant's frames go to its room.

    Concurrent publishers are coalesced: while a tenant's room call is in flight, the frames of
    other requests wait for it and then go together in the next call, so a busy replica makes
    at most one call per tenant at a time instead of one per request. A caller returns once its
    frames reached the room (or the call failed: the room then catches up from the log).
    """

    def __init__(self, rooms: RoomClient) -> None:
        self.rooms = rooms
        self._pending: dict[str, list[tuple[list[Frame], asyncio.Future[None]]]] = {}
        self._flushing: dict[str, asyncio.Task[None]] = {}

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for tenant_id, frames in frames_by_tenant(events).items():
            done: asyncio.Future[None] = loop.create_future()
            self._pending.setdefault(tenant_id, []).append((frames, done))
            waits.append(done)
            if tenant_id not in self._flushing:
                self._flushing[tenant_id] = loop.create_task(
                    self._flush(tenant_id), name=f"publish:{tenant_id}"
                )
        await asyncio.gather(*waits)

    async def _flush(self, tenant_id: str) -> None:
        """Send the tenant's waiting frames, one call at a time, until none are left."""
        try:
            while self._pending.get(tenant_id):
                batch = self._pending.pop(tenant_id)
                frames = [f for part, _ in batch for f in part]
                try:
                    await self.rooms.publish(tenant_id, frames)
                except Exception as exc:  # handed to every caller waiting on this batch
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._flushing.pop(tenant_id, None)


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
