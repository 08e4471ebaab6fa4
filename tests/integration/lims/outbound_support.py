"""Helpers for the outbound LIMS tests: simulated LIMSes on loopback, misbehaving servers, a
fast relay policy and a clock that tests can move forward."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from ils.lims.backoff import Backoff
from ils.lims.breaker import BreakerPolicy
from ils.lims.client import ClientPolicy
from ils.services.ports import utc_now
from ils.sim.lims import LimsConfig
from ils.sim.serve import LimsHandle, serve_lims

API_KEY = "sim-api-key-0001"

FAST = dict(
    client=ClientPolicy(
        connect_timeout_s=0.5,
        read_timeout_s=0.5,
        attempts=2,
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        max_inline_wait_s=0.2,
    ),
    breaker=BreakerPolicy(failure_threshold=3, open_s=1.0, probes=1),
    backoff=Backoff(base_s=0.1, cap_s=1.0),
    poll_s=0.05,
    drain_wait_s=2.0,
)


@dataclass
class MovableClock:
    """The wall clock plus an offset a test may add (a restarted relay "later")."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


@asynccontextmanager
async def simulated_lims(lab_id: str, seed: int = 0) -> AsyncIterator[LimsHandle]:
    """The lab simulator as an external LIMS on a free loopback port (no webhooks reach ILS)."""
    config = LimsConfig(
        ils_base_url="http://127.0.0.1:9",
        lab_tenant_id=lab_id,
        webhook_secret="not-used-here",
        api_key=API_KEY,
        port=0,
        speed=1.0,
        seed=seed,
        telemetry=False,
    )
    handle = await serve_lims(config)
    try:
        yield handle
    finally:
        await handle.stop()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nnot json at all")
    await writer.drain()
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.transport.abort()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"\x00\x01\x02 this is no HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


MISBEHAVIOURS: dict[str, Handler] = {"garbage": _garbage, "reset": _reset, "not_http": _not_http}


@asynccontextmanager
async def misbehaving_server(kind: str) -> AsyncIterator[str]:
    server = await asyncio.start_server(MISBEHAVIOURS[kind], "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def configure(client: httpx.AsyncClient, auth: dict[str, str], base_url: str) -> Any:
    response = await client.put(
        "/api/lab/lims", json={"base_url": base_url, "api_key": API_KEY}, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()
