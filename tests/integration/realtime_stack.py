"""An in-process ILS with rooms: the API over ASGI and the gateway on a loopback uvicorn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
import websockets

from bench.scratch import free_port
from ils.api.app import create_app
from ils.api.realtime.app import create_realtime_app
from ils.bus import Bus
from ils.db.database import Database
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.services.replay import LogSource
from ils.services.rooms import LocalRooms, RoomsPublisher
from ils.settings import Settings


@dataclass
class Stack:
    runtime: Runtime
    rooms: LocalRooms
    client: httpx.AsyncClient
    ws_url: str


@asynccontextmanager
async def realtime_stack(settings: Settings) -> AsyncIterator[Stack]:
    db = await Database.connect(settings)
    bus = Bus.connect(settings)
    source = LogSource(db, bus)
    rooms = LocalRooms(source, source.remember)
    runtime = Runtime(settings, db, bus, Gateways(publisher=RoomsPublisher(rooms), rooms=rooms))
    port = free_port()
    app = create_realtime_app(settings, runtime=runtime, path="/ws")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surface why the server did not start
            raise RuntimeError("the gateway server stopped before it started")
        await asyncio.sleep(0.02)
    api = create_app(settings, runtime=runtime)
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as client:
            yield Stack(runtime, rooms, client, f"ws://127.0.0.1:{port}/ws")
    finally:
        server.should_exit = True
        await task
        await bus.delete_prefix("")
        await runtime.close()


class Screen:
    """A connected client that keeps every frame it received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls, url: str, token: str, since: int | None = None, subprotocols: list[str] | None = None
    ) -> Screen:
        ws = await websockets.connect(url, subprotocols=subprotocols)  # type: ignore[arg-type]
        auth: dict[str, Any] = {"type": "auth", "token": token}
        if since is not None:
            auth["since"] = since
        await ws.send(json.dumps(auth))
        return cls(ws)

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def events_until(self, seq: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Event frames up to and including ``seq``."""
        got = []
        while True:
            frame = await self.next(timeout)
            if frame["type"] == "event":
                got.append(frame)
                if frame["seq"] >= seq:
                    return got

    async def close(self) -> None:
        await self.ws.close()
