"""One gateway replica: its sockets, one long-poll per tenant, bounded per-socket queues.

Each socket remembers the last ``seq`` it sent. A frame at or below it is skipped (no duplicate);
a frame beyond the next one first pulls the missing ones from the room (no gap). So whatever the
fan-out delivers — late, twice, after a room restart — a client sees its tenant's visible events
exactly once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ils.api.realtime.protocol import (
    CLOSE_RESUME_IMPOSSIBLE,
    CLOSE_SLOW_CONSUMER,
    QUEUE_LIMIT,
    Outgoing,
)
from ils.domain.access import Principal
from ils.domain.event import Topic
from ils.domain.visibility import visible_topics
from ils.services.instruments import PROPAGATION_MS, SOCKETS, Meter, NullMeter
from ils.services.room import Frame
from ils.services.rooms import RoomClient

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any] | Outgoing], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


#: Reads of a missing stretch before the socket is asked to resume instead (about 1.4 s in all).
GAP_TRIES = 7


@dataclass(frozen=True, slots=True)
class Pushed:
    """A room frame on its way to the sockets: its place, its topic, and its wire form (encoded
    once per replica and encoding, shared by every socket that sends it)."""

    seq: int
    topic: Topic
    wire: Outgoing


def pushed(frame: Frame) -> Pushed:
    event = Outgoing({"type": "event", "seq": frame["seq"], "event": frame["event"]})
    return Pushed(int(frame["seq"]), Topic(frame["topic"]), event)


class GapUnfilled(Exception):
    """Frames after ``after`` were missing and could not be read: the socket must resume."""

    def __init__(self, after: int) -> None:
        super().__init__(f"gap after seq {after}")
        self.after = after


@dataclass
class Connection:
    """One socket's view: who, what it may see, where it is, and its outgoing queue."""

    principal: Principal
    send: Send
    close: Close
    last_sent: int
    topics: frozenset[Topic] = frozenset(Topic)
    queue: asyncio.Queue[Pushed] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    closed: bool = False
    visible: frozenset[Topic] = field(init=False)

    def __post_init__(self) -> None:
        self.visible = frozenset(visible_topics(self.principal))

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    def offer(self, frame: Pushed) -> bool:
        """Queue a frame without waiting; False when the socket has fallen too far behind."""
        if self.closed:
            return True
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def wants(self, frame: Pushed) -> bool:
        return frame.topic in self.topics and frame.topic in self.visible


@dataclass
class Gateway:
    rooms: RoomClient
    poll_timeout_s: float = 15.0
    #: After a poll that brought frames, wait this long before the next one: under load a poll
    #: then brings several events, and each socket writes them in one go (one hand-over to the
    #: proxy instead of one per event). It adds at most this much to an event's latency.
    linger_s: float = 0.01
    id: str = field(default_factory=lambda: f"gw-{uuid.uuid4().hex[:8]}")
    sockets: dict[str, dict[str, Connection]] = field(default_factory=dict)
    fanouts: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _chores: set[asyncio.Task[None]] = field(default_factory=set)
    meter: Meter = field(default_factory=NullMeter)

    def _count_sockets(self) -> None:
        open_now = sum(len(conns) for conns in self.sockets.values())
        self.meter.set(SOCKETS, float(open_now), {"replica": self.id})

    def _observe_propagation(self, frame: Frame) -> None:
        """Committed -> fanned out by this replica, once per event (not once per socket)."""
        if isinstance(self.meter, NullMeter):
            return
        at = datetime.fromisoformat(str(frame["event"]["occurred_at"]).replace("Z", "+00:00"))
        waited = (datetime.now(UTC) - at).total_seconds() * 1000.0
        self.meter.observe(PROPAGATION_MS, waited, {"topic": str(frame["topic"])})

    async def join(self, conn: Connection) -> None:
        self.sockets.setdefault(conn.tenant_id, {})[conn.id] = conn
        self._count_sockets()
        if conn.tenant_id not in self.fanouts or self.fanouts[conn.tenant_id].done():
            start = await self.rooms.head(conn.tenant_id)
            self.fanouts[conn.tenant_id] = asyncio.create_task(
                self._fanout(conn.tenant_id, start), name=f"fanout:{conn.tenant_id}"
            )
        await self._report_presence(conn.tenant_id)

    async def leave(self, conn: Connection) -> None:
        conn.closed = True
        tenant = self.sockets.get(conn.tenant_id, {})
        tenant.pop(conn.id, None)
        self._count_sockets()
        if not tenant:
            self.sockets.pop(conn.tenant_id, None)
            task = self.fanouts.pop(conn.tenant_id, None)
            if task is not None:
                task.cancel()
        with contextlib.suppress(Exception):
            await self._report_presence(conn.tenant_id)

    async def _report_presence(self, tenant_id: str) -> None:
        users: dict[str, int] = {}
        for conn in self.sockets.get(tenant_id, {}).values():
            users[conn.principal.user_id] = users.get(conn.principal.user_id, 0) + 1
        await self.rooms.set_presence(tenant_id, self.id, users)

    async def _fanout(self, tenant_id: str, position: int) -> None:
        """The one long-poll of this replica for this tenant; survives room restarts."""
        backoff = 0.05
        while tenant_id in self.sockets:
            try:
                result = await self.rooms.poll(tenant_id, position, self.poll_timeout_s)
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception:  # the room is restarting: it rebuilds from the log; try again
                log.warning("room poll for %s failed; retrying", tenant_id, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if result["reset"]:
                position = result["head"]
                continue
            for frame in result["frames"]:
                self._deliver(tenant_id, pushed(frame))
                self._observe_propagation(frame)
                position = max(position, frame["seq"])
            if result["frames"] and self.linger_s:
                await asyncio.sleep(self.linger_s)

    def _deliver(self, tenant_id: str, frame: Pushed) -> None:
        for conn in list(self.sockets.get(tenant_id, {}).values()):
            if not conn.offer(frame):
                chore = asyncio.create_task(self._drop_slow(conn))
                self._chores.add(chore)
                chore.add_done_callback(self._chores.discard)

    async def _drop_slow(self, conn: Connection) -> None:
        await self.leave(conn)
        with contextlib.suppress(Exception):
            await conn.close(
                CLOSE_SLOW_CONSUMER, f"fell behind; reconnect with since={conn.last_sent}"
            )

    async def send_in_order(self, conn: Connection, item: Pushed | Frame) -> None:
        """Send ``frame`` after whatever is missing before it; skip what was already sent.

        The socket never moves past a hole: missing frames are read from the room (and, behind
        it, Redis and PostgreSQL) and sent strictly one after another. If the hole cannot be
        filled after a few tries, ``GapUnfilled`` asks the caller to close the socket with a
        resume hint, so the client reloads from ``since`` instead of silently missing events.
        """
        frame = item if isinstance(item, Pushed) else pushed(item)
        if frame.seq <= conn.last_sent:
            return
        tries = 0
        while frame.seq > conn.last_sent + 1:
            gap = await self.rooms.read(
                conn.tenant_id, conn.last_sent, frame.seq - conn.last_sent - 1
            )
            progressed = False
            for missing in gap["frames"]:
                if missing["seq"] == conn.last_sent + 1 and missing["seq"] < frame.seq:
                    await self._emit(conn, pushed(missing))
                    progressed = True
            if not progressed:
                tries += 1
                if tries > GAP_TRIES:
                    raise GapUnfilled(conn.last_sent)
                await asyncio.sleep(0.05 * tries)
        await self._emit(conn, frame)

    async def _emit(self, conn: Connection, frame: Pushed) -> None:
        if frame.seq <= conn.last_sent:
            return
        if conn.wants(frame):
            await conn.send(frame.wire)
        conn.last_sent = frame.seq

    async def catch_up(self, conn: Connection, until: int) -> bool:
        """Send everything after ``conn.last_sent`` up to ``until``; False if it is not retained."""
        while conn.last_sent < until:
            page = await self.rooms.read(
                conn.tenant_id, conn.last_sent, min(1000, until - conn.last_sent)
            )
            if page["reset"]:
                return False
            contiguous = [
                f for i, f in enumerate(page["frames"]) if f["seq"] == conn.last_sent + 1 + i
            ]
            if not contiguous:
                break  # the live pump fills what is missing, or asks the client to resume
            for frame in contiguous:
                if frame["seq"] <= until:
                    await self._emit(conn, pushed(frame))
        return True

    async def pump(self, conn: Connection) -> None:
        """The socket's single writer: queued frames, in order, gaps filled.

        Whatever is queued when it wakes is written in one go (the replica hands the writes of
        one go to the proxy together).
        """
        while not conn.closed:
            batch = [await conn.queue.get()]
            while not conn.queue.empty():
                batch.append(conn.queue.get_nowait())
            try:
                for frame in batch:
                    await self.send_in_order(conn, frame)
            except GapUnfilled as gap:
                log.warning(
                    "socket %s of %s could not fill a gap after seq %d; asking it to resume",
                    conn.id,
                    conn.tenant_id,
                    gap.after,
                )
                await self.leave(conn)
                with contextlib.suppress(Exception):
                    await conn.close(CLOSE_RESUME_IMPOSSIBLE, f"reconnect with since={gap.after}")
                return
