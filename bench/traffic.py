"""Load generators of ``bench.load`` and ``bench.chaos``: practices, the lab floor, telemetry and
screens, each an asyncio task with its own counters.

- ``Practices``: Poisson order arrivals over several practices' logins (POST /api/orders).
- ``Floor``: for every job the LIMS accepted, its station events (job.accepted, then queued /
  in_process / done at the first stations of its route) spread over ``job_span_s``, delivered
  signed by the simulator's own ``WebhookSender`` (batched, retried, paused by a LIMS outage).
  The sender sends one request at a time, as a LIMS does: when ILS answers slower than the events
  come, a backlog builds, which the floor delivers after the run for at most ``drain_limit_s``
  and then gives up (reported, and left out of the reconciliation: those events never left).
- ``Telemetry``: readings for the lab's machines, one POST /api/telemetry a second.
- ``Screen``: a WebSocket client that resumes with ``since``, keeps every seq, folds order events
  into a view and samples propagation (arrival minus the event's ``occurred_at``).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import websockets

from bench.lab_group import LabGroup, Tenant
from ils.analytics.anomaly.lab import DEFAULT_METRICS
from ils.sim.events import rfc3339
from ils.sim.lims import LimsSimulator
from ils.sim.webhook import DeliveryConfig, WebhookSender

ORDER: dict[str, Any] = {
    "patient_ref": "P-1",
    "due_date": "2026-12-10",
    "rx": {
        "od": {"sphere": -2.25, "cylinder": -0.75, "axis": 180, "add": 2.0, "pd": 31.5,
               "seg_height": 18.0},
        "os": {"sphere": -2.0, "cylinder": -0.5, "axis": 175, "add": 2.0, "pd": 32.0,
               "seg_height": 18.0},
    },
    "lens": {"type": "progressive", "material": "1.60", "coatings": ["ar", "hard"]},
    "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
}  # fmt: skip
STATUSES = ("queued", "in_process", "done")


@dataclass
class Tally:
    """What one generator did: successes, failures by kind, client round trips."""

    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    round_trips_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "errors": dict(self.errors), **percentiles(self.round_trips_ms)}


def percentiles(samples: list[float], prefix: str = "round_trip_") -> dict[str, float | None]:
    if not samples:
        return {f"{prefix}p50_ms": None, f"{prefix}p99_ms": None}
    values = np.asarray(samples)
    return {
        f"{prefix}p50_ms": round(float(np.percentile(values, 50)), 1),
        f"{prefix}p99_ms": round(float(np.percentile(values, 99)), 1),
    }


async def _timed_post(client: httpx.AsyncClient, tally: Tally, url: str, **kw: Any) -> Any:
    began = time.perf_counter()
    try:
        response = await client.post(url, **kw)
    except httpx.HTTPError as exc:
        tally.errors[type(exc).__name__] += 1
        return None
    tally.round_trips_ms.append((time.perf_counter() - began) * 1000.0)
    if response.status_code >= 400:
        tally.errors[str(response.status_code)] += 1
        return None
    tally.ok += 1
    return response


class Practices:
    """Orders from every practice of the group, ``rate_per_s`` in total (Poisson)."""

    def __init__(self, group: LabGroup, rate_per_s: float, rng: np.random.Generator) -> None:
        self.group, self.rate, self.rng = group, rate_per_s, rng
        self.tally = Tally()
        self.placed: list[str] = []

    async def _one(self, client: httpx.AsyncClient, practice: Tenant) -> None:
        body = {**ORDER, "lab_id": self.group.lab.tenant_id}
        made = await _timed_post(
            client, self.tally, "/api/orders", json=body, headers=practice.auth
        )
        if made is not None:
            self.placed.append(made.json()["id"])

    async def run(self, client: httpx.AsyncClient, until: asyncio.Event) -> None:
        pending: set[asyncio.Task[None]] = set()
        while not until.is_set():
            await asyncio.sleep(float(self.rng.exponential(1.0 / self.rate)))
            practice = self.group.practices[int(self.rng.integers(len(self.group.practices)))]
            task = asyncio.create_task(self._one(client, practice))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)


class Floor:
    """The lab floor: station events for every job the simulated LIMS has accepted."""

    def __init__(self, sim: LimsSimulator, client: httpx.AsyncClient, config: FloorConfig) -> None:
        self.sim, self.config = sim, config
        self.rng = np.random.default_rng(config.seed)
        delivery = DeliveryConfig(
            url=sim.config.webhook_url,
            secret=sim.config.webhook_secret.encode(),
            batch_size=config.batch_size,
            flush_interval_s=0.1,
        )
        self.sender = WebhookSender(delivery, client, self.rng, sim.outage)
        self.due: list[tuple[float, int, str, str, str | None]] = []
        self.backlog_at_stop = 0
        self.drain_s = 0.0
        self.seen = 0
        self.made_ids: list[str] = []
        self.abandoned_ids: set[str] = set()
        self._n = 0

    def _plan(self, job_id: str) -> None:
        job = self.sim.model.jobs[job_id]
        steps: list[tuple[str, str | None]] = [("accepted", None)]
        for stop in job.route[: self.config.stations_per_job]:
            steps += [(status, stop.value) for status in STATUSES]
        gap = self.config.job_span_s / len(steps)
        start = time.monotonic()
        for k, (status, where) in enumerate(steps):
            self._n += 1
            heapq.heappush(self.due, (start + k * gap, self._n, job_id, status, where))

    def _event(self, job_id: str, status: str, station: str | None) -> dict[str, Any]:
        job = self.sim.model.jobs[job_id]
        kind = "job.accepted" if status == "accepted" else "job.station_changed"
        event_id = "evt_" + self.rng.bytes(12).hex()
        self.made_ids.append(event_id)
        data = {"job_id": job_id, "order_id": job.order_id, "station": station,
                "status": status, "sequence": job.next_sequence()}  # fmt: skip
        return {"id": event_id, "type": kind, "occurred_at": rfc3339(datetime.now(UTC)),
                "data": data}  # fmt: skip

    def tick(self) -> None:
        jobs = list(self.sim.model.jobs)
        for job_id in jobs[self.seen :]:
            self._plan(job_id)
        self.seen = len(jobs)
        now = time.monotonic()
        while self.due and self.due[0][0] <= now:
            _, _, job_id, status, station = heapq.heappop(self.due)
            self.sender.enqueue(self._event(job_id, status, station))

    async def run(self, until: asyncio.Event) -> None:
        sending = asyncio.create_task(self.sender.run())
        try:
            while not until.is_set():
                self.tick()
                await asyncio.sleep(0.05)
        finally:
            self.sender.close()  # never cancel: that would drop the batch being retried
            await self._drain(sending)
        await self.sender.flush()

    async def _drain(self, sending: asyncio.Task[None]) -> None:
        """Let the sender deliver its backlog for ``drain_limit_s``, then give the rest up."""
        began = time.monotonic()
        self.backlog_at_stop = self.sender.pending
        try:
            await asyncio.wait_for(asyncio.shield(sending), self.config.drain_limit_s)
        except TimeoutError:
            self.abandoned_ids.update(event["id"] for event in self.sender.abandon())
            await sending  # the request in hand is finished
        self.drain_s = time.monotonic() - began

    def sent_ids(self) -> list[str]:
        """The events handed to ILS (accepted, refused or given up after retries)."""
        return [i for i in self.made_ids if i not in self.abandoned_ids]

    def stats(self) -> dict[str, Any]:
        drain = {"backlog_at_stop": self.backlog_at_stop, "drain_s": round(self.drain_s, 1)}
        return {**self.sender.stats.as_dict(), "jobs": self.seen, "events_planned": self._n,
                **drain}  # fmt: skip


@dataclass(frozen=True)
class FloorConfig:
    seed: int
    stations_per_job: int = 4  # 1 + 4 x 3 = 13 events a job: 12 orders/s make ~156 events/s
    job_span_s: float = 12.0
    batch_size: int = 25
    drain_limit_s: float = 180.0


class Telemetry:
    """``readings_per_s`` readings over ``machines`` registered machines, posted once a second."""

    def __init__(self, group: LabGroup, readings_per_s: int, machines: int, seed: int) -> None:
        self.group, self.readings, self.machines = group, readings_per_s, machines
        self.rng = np.random.default_rng(seed)
        self.tally = Tally()

    async def register(self, client: httpx.AsyncClient) -> None:
        for k in range(self.machines):
            body = {"id": f"edger-{k}", "station": "edging", "kind": "edger"}
            made = await client.post("/api/equipment", json=body, headers=self.group.lab.auth)
            made.raise_for_status()

    def _batch(self) -> list[dict[str, Any]]:
        at = datetime.now(UTC).isoformat()
        values = self.rng.normal(1.0, 0.05, size=(self.readings, len(DEFAULT_METRICS)))
        return [
            {"equipment_id": f"edger-{k % self.machines}", "at": at,
             "metrics": {m: float(v) for m, v in zip(DEFAULT_METRICS, row, strict=True)}}
            for k, row in enumerate(values)
        ]  # fmt: skip

    async def run(self, client: httpx.AsyncClient, until: asyncio.Event) -> None:
        while not until.is_set():
            began = time.monotonic()
            body = {"readings": self._batch()}
            await _timed_post(
                client, self.tally, "/api/telemetry", json=body, headers=self.group.lab.auth
            )
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))


class Screen:
    """A WebSocket client that reconnects with ``since`` and folds order events into a view."""

    def __init__(self, url: str, tenant: Tenant) -> None:
        self.url, self.tenant = url, tenant
        self.seqs: list[int] = []
        self.view: dict[str, tuple[str, str | None, int]] = {}
        self.latency_ms: list[float] = []
        self.reconnects = self.resets = 0

    def _fold(self, frame: dict[str, Any], arrived: float) -> None:
        self.seqs.append(frame["seq"])
        event = frame["event"]
        occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        self.latency_ms.append((arrived - occurred.timestamp()) * 1000.0)
        order = event.get("order")
        if isinstance(order, dict) and "id" in order:
            seen = self.view.get(order["id"])
            if seen is None or order["version"] >= seen[2]:
                self.view[order["id"]] = (order["status"], order["station"], order["version"])

    async def _session(self, until: asyncio.Event) -> None:
        async with websockets.connect(self.url, open_timeout=30, max_queue=None) as ws:
            since = self.last_seq
            await ws.send(json.dumps({"type": "auth", "token": self.tenant.token, "since": since}))
            while not until.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                frame = json.loads(raw)
                if frame["type"] == "event":
                    self._fold(frame, time.time())
                elif frame["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif frame["type"] == "reset":
                    self.resets += 1

    async def run(self, until: asyncio.Event) -> None:
        while not until.is_set():
            try:
                await self._session(until)
            except (websockets.WebSocketException, OSError, TimeoutError):
                self.reconnects += 1
                await asyncio.sleep(0.3)

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def problems(self, expected: set[int]) -> dict[str, int]:
        """Seqs this screen should have received but did not, and seqs received twice."""
        counts = Counter(self.seqs)
        missing = sum(1 for s in expected if s not in counts)
        return {"missing": missing, "duplicates": sum(c - 1 for c in counts.values())}
