"""ILS served over real loopback HTTP for a browser: the API (with the dashboard) and the gateway.

Like ``tests/integration/realtime_stack.py`` but the API too listens on a port, since a browser
cannot speak ASGI. The gateway has its own port: the page is opened with ``?ws=<gateway url>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from ils.api.app import create_app
from ils.api.realtime.app import create_realtime_app
from ils.bus import Bus
from ils.db.database import Database
from ils.runtime import Runtime
from ils.services.instruments import Meter, NullMeter
from ils.services.ports import Gateways
from ils.services.replay import LogSource
from ils.services.rooms import LocalRooms, RoomsPublisher
from ils.settings import Settings
from tests.integration.realtime_stack import free_port


@dataclass
class Site:
    runtime: Runtime
    client: httpx.AsyncClient
    api_url: str
    ws_url: str

    def page_url(self) -> str:
        return f"{self.api_url}/?ws={self.ws_url}"


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("a server stopped before it started")
        await asyncio.sleep(0.02)
    return server, task


@asynccontextmanager
async def live_site(settings: Settings, meter: Meter | None = None) -> AsyncIterator[Site]:
    db = await Database.connect(settings)
    bus = Bus.connect(settings)
    source = LogSource(db, bus)
    rooms = LocalRooms(source, source.remember)
    gateways = Gateways(publisher=RoomsPublisher(rooms), rooms=rooms, metrics=meter or NullMeter())
    runtime = Runtime(settings, db, bus, gateways)
    api_port, ws_port = free_port(), free_port()
    servers = [
        await _serve(create_app(settings, runtime=runtime), api_port),
        await _serve(create_realtime_app(settings, runtime=runtime, path="/ws"), ws_port),
    ]
    api_url = f"http://127.0.0.1:{api_port}"
    try:
        async with httpx.AsyncClient(base_url=api_url, timeout=10.0) as client:
            yield Site(runtime, client, api_url, f"ws://127.0.0.1:{ws_port}/ws")
    finally:
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in servers), return_exceptions=True)
        await bus.delete_prefix("")
        await runtime.close()
