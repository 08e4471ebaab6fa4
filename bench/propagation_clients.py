"""The client side of ``bench.propagation``: WebSocket watchers and echo clients, in processes.

Each process runs many asyncio clients (the ``websockets`` library) and hands back plain arrays;
nothing here imports ILS or Ray, so a spawned process starts quickly and does no other work.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import queue
import time
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
import websockets
from websockets.asyncio.client import connect

#: Processes the clients are spread over (each runs its share of the sockets).
CLIENT_PROCESSES = 2


@dataclass(frozen=True)
class Viewer:
    """One socket to open: whose token, which tenant, which topics that role sees."""

    index: int
    token: str
    tenant_id: str
    topics: tuple[str, ...]
    since: int = 0


class Watcher:
    """One WebSocket client: receive times of every event frame; resumes with ``since``."""

    def __init__(
        self, viewer: Viewer, url: str, last: Any, ready: Any, compression: str | None
    ) -> None:
        self.viewer, self.url, self.last_seqs, self.ready_q = viewer, url, last, ready
        #: "deflate": offer permessage-deflate (the library's default); None: plain frames.
        self.compression = compression
        self.last = viewer.since
        self.seqs, self.hooks, self.times = array("q"), array("q"), array("d")
        self.closes: dict[str, int] = {}
        self.resets = self.errors = self.connects = 0
        #: Sessions in which the server accepted permessage-deflate.
        self.deflated = 0

    def record(self, frame: dict[str, Any], at: float) -> None:
        seq = int(frame["seq"])
        by = (frame.get("event") or {}).get("by")
        lims = by.get("lims_event_id") if isinstance(by, dict) else None
        hook = int(lims[4:]) if isinstance(lims, str) and lims.startswith("evt_") else -1
        self.seqs.append(seq)
        self.hooks.append(hook)
        self.times.append(at)
        self.last = max(self.last, seq)
        self.last_seqs[self.viewer.index] = self.last

    async def session(self) -> None:
        async with connect(
            self.url,
            max_size=None,
            ping_interval=None,
            open_timeout=60,
            compression=self.compression,
        ) as ws:
            self.connects += 1
            if any(e.name == "permessage-deflate" for e in ws.protocol.extensions):
                self.deflated += 1
            auth = {"type": "auth", "token": self.viewer.token, "since": self.last}
            await ws.send(json.dumps(auth))
            async for raw in ws:
                at = time.time()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "event":
                    self.record(frame, at)
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind == "ready" and self.connects == 1:
                    self.ready_q.put(self.viewer.index)
                elif kind == "reset":
                    self.resets += 1
                elif kind == "error":
                    self.errors += 1
            self._closed(ws.close_code)

    def _closed(self, code: int | None) -> None:
        self.closes[str(code)] = self.closes.get(str(code), 0) + 1

    async def run(self) -> None:
        while True:
            try:
                await self.session()
            except websockets.ConnectionClosed as exc:
                self._closed(exc.rcvd.code if exc.rcvd else None)
            except (OSError, TimeoutError):
                self._closed(-1)
            await asyncio.sleep(0.2)

    def result(self) -> dict[str, Any]:
        return {
            "index": self.viewer.index,
            "seqs": np.frombuffer(self.seqs, dtype=np.int64).copy(),
            "hooks": np.frombuffer(self.hooks, dtype=np.int64).copy(),
            "times": np.frombuffer(self.times, dtype=np.float64).copy(),
            "connects": self.connects,
            "deflated": self.deflated,
            "closes": self.closes,
            "resets": self.resets,
            "errors": self.errors,
        }


async def _watch(
    viewers: list[Viewer], url: str, last: Any, ready: Any, stop: Any, compression: str | None
) -> list[Any]:
    watchers = [Watcher(v, url, last, ready, compression) for v in viewers]
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    while not stop.is_set():  # noqa: ASYNC110 (a multiprocessing Event, not an asyncio one)
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [w.result() for w in watchers]


def watch_process(
    viewers: list[Viewer],
    url: str,
    last: Any,
    ready: Any,
    stop: Any,
    out: Any,
    compression: str | None,
) -> None:
    """Entry point of a client process: watch until ``stop``, then send back what was seen."""
    began, cpu = time.perf_counter(), time.process_time()
    seen = asyncio.run(_watch(viewers, url, last, ready, stop, compression))
    out.put((seen, time.process_time() - cpu, time.perf_counter() - began))


class Clients:
    """The WebSocket clients, in their own processes (spawned: the driver runs Ray)."""

    def __init__(
        self, url: str, viewers: list[Viewer], compression: str | None = "deflate"
    ) -> None:
        ctx = mp.get_context("spawn")
        self.viewers = viewers
        self.last: Any = ctx.RawArray("q", len(viewers))
        for v in viewers:
            self.last[v.index] = v.since
        self.ready, self.out, self.stop_flag = ctx.Queue(), ctx.Queue(), ctx.Event()
        #: CPU seconds the client processes used in all, and the longest one's wall time: the
        #: share of the machine the measuring side took from the server.
        self.cpu_s, self.wall_s = 0.0, 0.0
        self.procs = [
            ctx.Process(
                target=watch_process,
                args=(viewers[i::CLIENT_PROCESSES], url, self.last, self.ready, self.stop_flag,
                      self.out, compression),
                daemon=True,
            )
            for i in range(CLIENT_PROCESSES)
        ]  # fmt: skip

    async def start(self, timeout_s: float = 180.0) -> float:
        """Start the processes; wait until every client had its ``ready`` frame. Seconds."""
        began = time.perf_counter()
        for proc in self.procs:
            proc.start()
        ready = 0
        while ready < len(self.viewers):
            if time.perf_counter() - began > timeout_s:
                raise TimeoutError(f"only {ready} of {len(self.viewers)} clients got ready")
            got = await asyncio.to_thread(self._ready_one)
            ready += got
        return time.perf_counter() - began

    def _ready_one(self) -> int:
        try:
            self.ready.get(timeout=1.0)
        except queue.Empty:  # nobody got ready this second
            return 0
        return 1

    async def stop(self) -> list[dict[str, Any]]:
        self.stop_flag.set()
        seen: list[dict[str, Any]] = []
        for _ in self.procs:
            watched, cpu_s, wall_s = await asyncio.to_thread(self.out.get, True, 300.0)
            seen += watched
            self.cpu_s += cpu_s
            self.wall_s = max(self.wall_s, wall_s)
        for proc in self.procs:
            proc.join(10)
        return sorted(seen, key=lambda r: int(r["index"]))


async def _echo_client(url: str, offset: float, rate: float, duration: float) -> list[float]:
    """Send ``rate`` frames/s for ``duration`` seconds; each frame's round trip in ms."""
    rtts: list[float] = []
    async with connect(url, max_size=None, ping_interval=None, open_timeout=60) as ws:

        async def receive() -> None:
            async for raw in ws:
                rtts.append((time.perf_counter() - float(raw)) * 1000.0)

        reader = asyncio.create_task(receive())
        start = time.perf_counter() + offset
        for k in range(int(rate * duration)):
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
            await ws.send(repr(time.perf_counter()))
        await asyncio.sleep(2.0)  # let the last echoes come back
        reader.cancel()
    return rtts


async def _echo_all(
    url: str, first: int, n: int, total_rate: float, each: float, duration: float
) -> Any:
    offsets = [(first + i) / total_rate for i in range(n)]
    found = await asyncio.gather(*(_echo_client(url, o, each, duration) for o in offsets))
    return [x for rtts in found for x in rtts]


def echo_process(
    url: str, first: int, n: int, rates: tuple[float, float], duration: float, out: Any
) -> None:
    """Entry point of an echo process: clients ``first..first+n``; ``rates`` is (total, each)."""
    out.put(asyncio.run(_echo_all(url, first, n, rates[0], rates[1], duration)))
