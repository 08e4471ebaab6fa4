"""The real-time application: ``GET /ws`` upgraded to a WebSocket (API.md "Real-time")."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ils.api.realtime import protocol as p
from ils.api.realtime.gateway import Connection, Gateway
from ils.domain.access import Principal
from ils.domain.event import Topic
from ils.domain.visibility import visible_topics
from ils.errors import IlsError
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.services.replay import LogSource
from ils.services.rooms import LocalRooms, RoomClient
from ils.settings import Settings


def local_rooms(runtime: Runtime) -> LocalRooms:
    source = LogSource(runtime.db, runtime.bus)
    return LocalRooms(source, source.remember)


class Socket:
    """One accepted WebSocket: serialised writes in the negotiated encoding."""

    def __init__(self, ws: WebSocket, binary: bool) -> None:
        self.ws = ws
        self.binary = binary
        self._lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any] | p.Outgoing) -> None:
        if isinstance(frame, p.Outgoing):
            data = frame.encoded(self.binary)
        else:
            data = p.encode(frame, self.binary)
        async with self._lock:
            if isinstance(data, bytes):
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_text(data)

    async def close(self, code: int, reason: str = "") -> None:
        if self.ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason[:120])

    async def refuse(self, code: int, error: str, detail: str) -> None:
        with contextlib.suppress(Exception):
            await self.send(p.error_frame(error, detail))
        await self.close(code, detail)

    async def receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The next client frame, None when the client went away."""
        message = await asyncio.wait_for(self.ws.receive(), timeout_s)
        if message["type"] == "websocket.disconnect":
            return None
        return p.decode(message.get("bytes") or message.get("text"), self.binary)


class FloodGuard:
    """A token bucket over client frames: a client that floods is closed, others never notice."""

    def __init__(self, rate: float = p.CLIENT_FRAMES_PER_S, burst: float | None = None) -> None:
        self.rate, self.capacity = rate, burst or rate * 2
        self.tokens, self.at = self.capacity, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def _authenticate(sock: Socket, runtime: Runtime) -> tuple[Principal, int | None] | None:
    try:
        first = await sock.receive(p.AUTH_TIMEOUT_S)
    except (TimeoutError, p.FrameError):
        await sock.refuse(p.CLOSE_BAD_TOKEN, "auth-required", "send an auth frame first")
        return None
    if first is None:
        return None
    token, since = first.get("token"), first.get("since")
    if first["type"] != "auth" or not isinstance(token, str) or not token:
        await sock.refuse(p.CLOSE_BAD_TOKEN, "auth-required", "the first frame is an auth frame")
        return None
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        await sock.refuse(p.CLOSE_RESUME_IMPOSSIBLE, "since-invalid", "since is a seq number")
        return None
    try:
        principal = await runtime.identity.authenticate(token, runtime.clock())
    except IlsError as exc:
        await sock.refuse(p.CLOSE_BAD_TOKEN, exc.code, exc.detail)
        return None
    if not visible_topics(principal):
        await sock.refuse(p.CLOSE_FORBIDDEN, "forbidden", "this role sees no real-time events")
        return None
    return principal, since


def _subscribe(conn: Connection, frame: dict[str, Any]) -> str | None:
    topics = frame.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return "topics is a list of strings"
    try:
        conn.topics = frozenset(Topic(t) for t in topics)
    except ValueError:
        return "topics are: " + ", ".join(t.value for t in Topic)
    return None


async def _converse(sock: Socket, conn: Connection) -> None:
    """Read client frames until the client leaves, goes silent or floods."""
    guard = FloodGuard()
    while True:
        try:
            frame = await sock.receive(p.IDLE_LIMIT_S)
        except TimeoutError:
            await sock.close(p.CLOSE_IDLE, f"silent; reconnect with since={conn.last_sent}")
            return
        except p.FrameError as exc:
            frame = {"type": "_invalid", "detail": str(exc)}
        if frame is None:
            return
        if not guard.allow():
            await sock.refuse(p.CLOSE_POLICY, "flood", "too many frames")
            return
        if frame["type"] in ("pong", "ping"):
            if frame["type"] == "ping":
                await sock.send({"type": "pong"})
            continue
        problem = (
            _subscribe(conn, frame)
            if frame["type"] == "subscribe"
            else (frame.get("detail") or f"unknown frame type {frame['type']!r}")
        )
        if problem:
            await sock.send(p.error_frame("bad-frame", str(problem)))


async def _pinger(sock: Socket) -> None:
    while True:
        await asyncio.sleep(p.PING_EVERY_S)
        await sock.send({"type": "ping"})


async def serve_socket(ws: WebSocket, runtime: Runtime, gateway: Gateway) -> None:
    requested = ws.scope.get("subprotocols") or []
    binary = p.MSGPACK in requested
    await ws.accept(subprotocol=p.MSGPACK if binary else None)
    sock = Socket(ws, binary)
    who = await _authenticate(sock, runtime)
    if who is None:
        return
    principal, since = who
    head = await gateway.rooms.head(principal.tenant_id)
    if since is not None and since > head:
        await sock.refuse(
            p.CLOSE_RESUME_IMPOSSIBLE,
            "since-in-future",
            f"since={since} is after the newest event {head}",
        )
        return
    conn = Connection(principal, sock.send, sock.close, last_sent=head if since is None else since)
    tasks: list[asyncio.Task[None]] = []
    try:
        await gateway.join(conn)
        await sock.send({"type": "ready", "tenant_id": principal.tenant_id, "seq": head})
        if since is not None and not await gateway.catch_up(conn, head):
            await sock.send({"type": "reset", "reason": "since is older than the retained log"})
            conn.last_sent = head
        tasks = [asyncio.create_task(gateway.pump(conn)), asyncio.create_task(_pinger(sock))]
        await _converse(sock, conn)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    except Exception:
        await sock.close(p.CLOSE_INTERNAL, "internal error")
        raise
    finally:
        for task in tasks:
            task.cancel()
        await gateway.leave(conn)
        await sock.close(p.CLOSE_NORMAL)


RoomsFactory = Callable[[Runtime], RoomClient]


class PrefixRoot:
    """Route ``GET /ws`` (the Serve route prefix itself) to the app's ``/`` route.

    Under a route prefix the request path equals ``root_path`` and Starlette matches the empty
    remainder against nothing; this maps it to ``/`` so the URL in API.md works without a slash.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        root = scope.get("root_path", "")
        if scope["type"] in ("websocket", "http") and root and scope.get("path") == root:
            scope = {**scope, "path": root + "/", "raw_path": (root + "/").encode()}
        await self.app(scope, receive, send)


def create_realtime_app(
    settings: Settings,
    gateways_factory: Callable[[Settings], Gateways] | None = None,
    runtime: Runtime | None = None,
    path: str = "/",
) -> FastAPI:
    """The gateway app; on Serve it sits under the ``/ws`` route prefix."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = runtime
        if opened is None:
            gateways = gateways_factory(settings) if gateways_factory else None
            opened = await Runtime.open(settings, gateways, run_migrations=False)
        rooms = opened.gateways.rooms or local_rooms(opened)
        app.state.runtime = opened
        app.state.gateway = Gateway(rooms, meter=opened.gateways.metrics)
        try:
            yield
        finally:
            if runtime is None:
                await opened.close()

    app = FastAPI(title="ILS real-time", lifespan=lifespan)
    app.add_middleware(PrefixRoot)

    @app.websocket(path)
    async def websocket(ws: WebSocket) -> None:
        await serve_socket(ws, ws.app.state.runtime, ws.app.state.gateway)

    return app
