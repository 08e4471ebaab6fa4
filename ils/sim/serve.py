"""Run the simulated LIMS in the current asyncio loop: HTTP server, pacing and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import uvicorn

from ils.sim.lims import LimsConfig, LimsSimulator
from ils.sim.server import build_app


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process (``ils up --demo``)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class LimsHandle:
    simulator: LimsSimulator
    server: uvicorn.Server
    client: httpx.AsyncClient
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        config = self.simulator.config
        return f"http://{config.host}:{self.port}"

    @property
    def port(self) -> int:
        servers = getattr(self.server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.simulator.config.port

    async def stop(self) -> None:
        self.server.should_exit = True
        for task in self.tasks[1:]:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


async def serve_lims(
    config: LimsConfig, *, embedded: bool = True, startup_timeout_s: float = 10.0
) -> LimsHandle:
    """Start the simulated LIMS and return once it accepts connections (port 0: any free port)."""
    client = httpx.AsyncClient()
    simulator = LimsSimulator(config, client)
    uv_config = uvicorn.Config(
        build_app(simulator),
        host=config.host,
        port=config.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    server = _EmbeddedServer(uv_config) if embedded else uvicorn.Server(uv_config)
    handle = LimsHandle(simulator, server, client)
    handle.tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(simulator.sender.run()),
        asyncio.create_task(simulator.pacer.run()),
    ]
    if simulator.uplink is not None:
        handle.tasks.append(asyncio.create_task(simulator.uplink.run()))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + startup_timeout_s
    while not server.started:
        if handle.tasks[0].done() or loop.time() > deadline:
            await handle.stop()
            raise RuntimeError(f"the simulated LIMS did not start on {config.host}:{config.port}")
        await asyncio.sleep(0.02)
    return handle
