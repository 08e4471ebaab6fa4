"""A tenant's real-time room: the ordered fan-out hub for its committed events.

The room keeps a bounded in-memory buffer of the newest events (wire form, with ``seq``) and the
head of the log. Publishers hand it committed events in any order; the room appends them strictly
in ``seq`` order, filling any gap from the durable source (Redis replay window, then PostgreSQL),
so a lost or reordered publish never becomes a lost event. Gateways long-poll ``poll(after)``.

This is plain asyncio: the ``TenantRoom`` actor is a thin address around it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: A wire event: {"seq": N, "topic": "...", "event": {...}}.
Frame = dict[str, Any]


class EventSource(Protocol):
    """Durable events of one tenant after a position (Redis window, then the PostgreSQL log)."""

    async def after(self, tenant_id: str, seq: int, limit: int) -> list[Frame]: ...

    async def head(self, tenant_id: str) -> int: ...

    async def first(self, tenant_id: str) -> int:
        """The oldest seq still retained (1 while the log is complete)."""
        ...


@dataclass
class PollResult:
    frames: list[Frame]
    head: int
    #: True when ``after`` is older than anything retained: the client must reload by REST.
    reset: bool = False


@dataclass
class Room:
    tenant_id: str
    source: EventSource
    capacity: int = 5000
    on_append: Callable[[list[Frame]], Awaitable[None]] | None = None

    head: int = 0
    buffer: deque[Frame] = field(default_factory=deque)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Appended frames not yet handed to ``on_append``, in seq order; ``_remembering`` keeps
    #: the hand-over in that order whatever the interleaving of publishers.
    _unremembered: list[Frame] = field(default_factory=list)
    _remembering: asyncio.Lock = field(default_factory=asyncio.Lock)
    presence: dict[str, dict[str, int]] = field(default_factory=dict)

    async def start(self) -> None:
        """Begin at the durable head: a restarted room has lost nothing, only its buffer."""
        self.head = await self.source.head(self.tenant_id)

    async def publish(self, frames: Sequence[Frame]) -> int:
        """Append committed frames in seq order, loading any gap; returns the new head.

        Long-polls are woken first; the durable window (``on_append``, Redis) is written after,
        still in seq order, before this returns.
        """
        async with self._lock:
            fresh = sorted((f for f in frames if f["seq"] > self.head), key=lambda f: f["seq"])
            if not fresh:
                return self.head
            if fresh[0]["seq"] != self.head + 1:
                missing = await self.source.after(
                    self.tenant_id, self.head, fresh[-1]["seq"] - self.head
                )
                fresh = missing
            appended = self._append_contiguous(fresh)
            if self.on_append is not None:
                self._unremembered.extend(appended)
        if appended:
            async with self._changed:
                self._changed.notify_all()
        await self._remember()
        return self.head

    async def _remember(self) -> None:
        if self.on_append is None:
            return
        async with self._remembering:
            frames, self._unremembered = self._unremembered, []
            if frames:
                await self.on_append(frames)

    def _append_contiguous(self, frames: list[Frame]) -> list[Frame]:
        appended = []
        for frame in frames:
            if frame["seq"] == self.head + 1:
                self.buffer.append(frame)
                self.head = frame["seq"]
                appended.append(frame)
        while len(self.buffer) > self.capacity:
            self.buffer.popleft()
        return appended

    def _from_buffer(self, after: int, limit: int) -> list[Frame] | None:
        """Frames after ``after`` if the buffer still holds the next one; None if it does not."""
        if after >= self.head:
            return []
        if not self.buffer or self.buffer[0]["seq"] > after + 1:
            return None
        start = after + 1 - self.buffer[0]["seq"]
        return [self.buffer[i] for i in range(start, min(len(self.buffer), start + limit))]

    async def read(self, after: int, limit: int = 1000) -> PollResult:
        """Frames after ``after`` right now (buffer, else the durable source)."""
        if after > self.head:
            # A publish may be in flight: look at the durable head before calling it the future.
            await self.catch_up()
        frames = self._from_buffer(after, limit)
        if frames is None:
            if after + 1 < await self.source.first(self.tenant_id):
                return PollResult([], self.head, reset=True)
            frames = await self.source.after(self.tenant_id, after, limit)
        return PollResult(frames, self.head)

    async def poll(self, after: int, timeout_s: float = 15.0, limit: int = 1000) -> PollResult:
        """Long-poll: answer at once if there is something after ``after``, else wait for it."""
        result = await self.read(after, limit)
        if result.frames or result.reset:
            return result
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.head > after), timeout_s)
            except TimeoutError:
                return PollResult([], self.head)
        return await self.read(after, limit)

    async def catch_up(self) -> int:
        """Pull anything committed but not published (a lost publish) from the durable log."""
        durable = await self.source.head(self.tenant_id)
        if durable > self.head:
            await self.publish(
                await self.source.after(self.tenant_id, self.head, durable - self.head)
            )
        return self.head

    def set_presence(self, gateway_id: str, users: dict[str, int]) -> None:
        if users:
            self.presence[gateway_id] = dict(users)
        else:
            self.presence.pop(gateway_id, None)

    def who(self) -> dict[str, int]:
        """Open connections per user, over every gateway replica."""
        total: dict[str, int] = {}
        for users in self.presence.values():
            for user, n in users.items():
                total[user] = total.get(user, 0) + n
        return total
