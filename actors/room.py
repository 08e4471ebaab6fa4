"""``TenantRoom``: one Ray actor per tenant, the address of its real-time room.

The room itself is :class:`ils.services.room.Room` (tested without Ray). The actor opens its own
small database pool and Redis client for the durable side, starts at the log's head, and sweeps
the log every second so that even a publish lost after the last commit reaches the screens.
A restarted actor has lost only its buffer: reads behind it come from Redis, then PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ray

from actors.naming import named_actor
from ils.bus import Bus
from ils.db.database import Database
from ils.services.replay import LogSource
from ils.services.room import Frame, Room
from ils.services.rooms import poll_dict
from ils.settings import Settings

SWEEP_EVERY_S = 1.0


def room_name(tenant_id: str) -> str:
    return f"room:{tenant_id}"


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class TenantRoom:
    def __init__(self, settings: Settings, tenant_id: str) -> None:
        self.settings = settings
        self.tenant_id = tenant_id
        self.room: Room | None = None
        self.lock = asyncio.Lock()
        self.sweeper: asyncio.Task[None] | None = None

    async def _room(self) -> Room:
        async with self.lock:
            if self.room is None:
                db = await Database.connect(self.settings, min_size=1, max_size=3)
                source = LogSource(db, Bus.connect(self.settings))

                async def remember(frames: list[Frame]) -> None:
                    await source.remember(self.tenant_id, frames)

                room = Room(self.tenant_id, source, on_append=remember)
                await room.start()
                self.room = room
                self.sweeper = asyncio.create_task(self._sweep(room))
            return self.room

    async def _sweep(self, room: Room) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            with contextlib.suppress(Exception):  # a database blip: the next sweep retries
                await room.catch_up()

    async def publish(self, frames: list[Frame]) -> int:
        return await (await self._room()).publish(frames)

    async def poll(self, after: int, timeout_s: float) -> dict[str, Any]:
        return poll_dict(await (await self._room()).poll(after, timeout_s))

    async def read(self, after: int, limit: int) -> dict[str, Any]:
        return poll_dict(await (await self._room()).read(after, limit))

    async def head(self) -> int:
        return await (await self._room()).catch_up()

    async def set_presence(self, gateway_id: str, users: dict[str, int]) -> None:
        (await self._room()).set_presence(gateway_id, users)

    async def presence(self) -> dict[str, int]:
        return (await self._room()).who()

    async def buffered(self) -> dict[str, int]:
        """How full the in-memory replay buffer is (frames held, and the most it holds)."""
        room = await self._room()
        return {"frames": len(room.buffer), "capacity": room.capacity}


def tenant_room(settings: Settings, tenant_id: str) -> Any:
    """The tenant's room actor, created on first use (detached: it outlives any replica)."""
    return named_actor(
        TenantRoom, room_name(tenant_id), settings, tenant_id, max_concurrency=10_000
    )


class RayRooms:
    """The rooms port on Ray (``ils.services.rooms.RoomClient``); handles cached per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handles: dict[str, Any] = {}

    def _handle(self, tenant_id: str) -> Any:
        handle = self._handles.get(tenant_id)
        if handle is None:
            handle = self._handles[tenant_id] = tenant_room(self.settings, tenant_id)
        return handle

    async def _call(self, tenant_id: str, method: str, *args: Any) -> Any:
        try:
            return await getattr(self._handle(tenant_id), method).remote(*args)
        except ray.exceptions.RayActorError:
            # The actor was killed for good (not restarted): look it up (or create it) again.
            self._handles.pop(tenant_id, None)
            return await getattr(self._handle(tenant_id), method).remote(*args)

    async def publish(self, tenant_id: str, frames: list[Frame]) -> int:
        head: int = await self._call(tenant_id, "publish", frames)
        return head

    async def poll(self, tenant_id: str, after: int, timeout_s: float) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(tenant_id, "poll", after, timeout_s)
        return result

    async def read(self, tenant_id: str, after: int, limit: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(tenant_id, "read", after, limit)
        return result

    async def head(self, tenant_id: str) -> int:
        head: int = await self._call(tenant_id, "head")
        return head

    async def set_presence(self, tenant_id: str, gateway_id: str, users: dict[str, int]) -> None:
        await self._call(tenant_id, "set_presence", gateway_id, users)
