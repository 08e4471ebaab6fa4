"""LIMS webhook benchmark: sustained ingest throughput and received -> committed latency.

The lab simulator's discrete-event model makes real job streams (holds, breakages, inspections,
shipping) for orders placed in ILS; the simulator's own signed sender (``ils.sim.webhook``)
delivers them, singly and in batches of 100, to the ILS API served in-process by uvicorn on
loopback against PostgreSQL (``ILS_DATABASE_URL`` or the embedded server) in a scratch database
created and dropped here. Several senders run at once, each owning a share of the jobs (a LIMS
keeps one job's events in order), like a LIMS with a few delivery workers.

Latency is measured inside the server: from the moment the request reaches the ASGI app to the
moment its response starts, which is after the transaction committed, the events were published
and the station state was fed. The client's round trip is reported too.

Run: ``python -m bench.webhooks [--quick]`` (or ``ils bench webhooks``); last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import numpy as np
import uvicorn

from bench.scratch import free_port, scratch_database
from bench.traffic import ORDER
from ils.api.app import create_app
from ils.domain.access import Principal, Role, TenantKind
from ils.domain.order import OrderDraft
from ils.embedded import ensure_services
from ils.runtime import Runtime
from ils.settings import Settings
from ils.sim.config import default_lab_config
from ils.sim.model import LabModel
from ils.sim.webhook import DeliveryConfig, WebhookSender

SEED = 20261125
PASSWORD = "Bench-Webhook-Phrase-52!"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class Timed:
    """ASGI wrapper: time from a webhook request's arrival to the start of its response."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.samples_ms: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/webhooks/"):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()

        async def timed_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.samples_ms.append((time.perf_counter() - began) * 1000.0)
            await send(message)

        await self.app(scope, receive, timed_send)


async def _parties(runtime: Runtime) -> tuple[str, str, Principal]:
    now = runtime.clock()
    lab = await runtime.identity.create_tenant(
        TenantKind.LAB, "Bench Lab", "admin@bench-lab.example", PASSWORD, now
    )
    practice = await runtime.identity.create_tenant(
        TenantKind.PRACTICE, "Bench Practice", "admin@bench-practice.example", PASSWORD, now
    )
    await runtime.identity.link(lab["tenant_id"], practice["tenant_id"], now)
    principal = Principal(
        practice["admin_user_id"], practice["tenant_id"], TenantKind.PRACTICE, Role.ADMIN
    )
    return lab["tenant_id"], lab["webhook_secret"], principal


async def _job_streams(
    runtime: Runtime, lab_id: str, principal: Principal, jobs: int, seed: int
) -> list[list[dict[str, Any]]]:
    """Place ``jobs`` orders and run them through the simulated lab; each job's events."""
    model = LabModel(default_lab_config(), np.random.default_rng(seed))
    for k in range(jobs):
        draft = OrderDraft.model_validate({**ORDER, "lab_id": lab_id})
        _, order = await runtime.orders.create(principal, draft, runtime.clock())
        model.run_until(k * 1440.0 / 400.0)
        model.submit(order)
    model.run_until(jobs * 1440.0 / 400.0 + 20 * 1440.0)
    by_job: dict[str, list[dict[str, Any]]] = {}
    for event in model.emitted:
        by_job.setdefault(event["data"]["job_id"], []).append(event)
    return list(by_job.values())


async def _deliver(
    url: str, secret: str, streams: list[list[dict[str, Any]]], batch: int, senders: int
) -> tuple[float, int, list[float]]:
    """Send every stream with ``senders`` simulator senders; wall seconds, events, round trips."""
    round_trips: list[float] = []

    async def on_request(request: httpx.Request) -> None:
        request.extensions["began"] = time.perf_counter()

    async def on_response(response: httpx.Response) -> None:
        began = response.request.extensions["began"]
        round_trips.append((time.perf_counter() - began) * 1000.0)

    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [on_request],
        "response": [on_response],
    }
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(event_hooks=hooks, limits=limits) as client:
        config = DeliveryConfig(url=url, secret=secret.encode(), batch_size=batch)
        pool = [
            WebhookSender(config, client, np.random.default_rng(SEED + i)) for i in range(senders)
        ]
        for i, stream in enumerate(streams):
            for event in stream:
                pool[i % senders].enqueue(event)
        events = sum(len(s) for s in streams)
        began = time.perf_counter()
        await asyncio.gather(*(sender.flush() for sender in pool))
        wall = time.perf_counter() - began
        rejected = sum(s.stats.events_rejected + s.stats.events_dropped for s in pool)
    if rejected:
        raise RuntimeError(f"{rejected} events were refused; the bench measures accepted ones")
    return wall, events, round_trips


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples)
    return {
        "p50": round(float(np.percentile(values, 50)), 2),
        "p99": round(float(np.percentile(values, 99)), 2),
        "max": round(float(values.max()), 2),
    }


async def _phase(
    runtime: Runtime,
    timed: Timed,
    url: str,
    lab: tuple[str, str, Principal],
    jobs: int,
    batch: int,
    senders: int,
) -> dict[str, Any]:
    lab_id, secret, principal = lab
    streams = await _job_streams(runtime, lab_id, principal, jobs, SEED + batch)
    timed.samples_ms.clear()
    wall, events, round_trips = await _deliver(url, secret, streams, batch, senders)
    async with runtime.db.connection() as conn:
        outcomes = dict(
            await conn.fetch("SELECT outcome, count(*) FROM lims_webhook_events GROUP BY outcome")
        )
    return {
        "batch_size": batch,
        "senders": senders,
        "jobs": jobs,
        "events": events,
        "requests": len(timed.samples_ms),
        "wall_s": round(wall, 3),
        "events_per_s": round(events / wall, 1),
        "server_latency_ms": _percentiles(timed.samples_ms),
        "client_round_trip_ms": _percentiles(round_trips),
        "outcomes_so_far": {k: int(v) for k, v in outcomes.items()},
    }


async def _measure(
    settings: Settings, single_jobs: int, batch_jobs: int, senders: int
) -> dict[str, Any]:
    runtime = await Runtime.open(settings)
    timed = Timed(create_app(settings, runtime=runtime))
    port = free_port()
    config = uvicorn.Config(
        timed, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.05)
        lab = await _parties(runtime)
        url = f"http://127.0.0.1:{port}/api/webhooks/lims/{lab[0]}"
        single = await _phase(runtime, timed, url, lab, single_jobs, 1, senders)
        batched = await _phase(runtime, timed, url, lab, batch_jobs, 100, 2)
        return {"single": single, "batch_100": batched}
    finally:
        server.should_exit = True
        await serving
        await runtime.close()


async def _run(
    settings: Settings, single_jobs: int, batch_jobs: int, senders: int
) -> dict[str, Any]:
    async with scratch_database(settings) as scratch:
        return await _measure(scratch, single_jobs, batch_jobs, senders)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs")
    parser.add_argument("--senders", type=int, default=4, help="concurrent single-event senders")
    args = parser.parse_args(argv)
    single_jobs, batch_jobs = (20, 60) if args.quick else (100, 600)
    settings, services = ensure_services(Settings())
    try:
        figures = asyncio.run(_run(settings, single_jobs, batch_jobs, args.senders))
    finally:
        services.stop()
    result = {
        "bench": "webhooks",
        **figures,
        "goal": {"batch_events_per_s": 1000, "single_events_per_s": 200, "single_p99_ms": 50},
        "conditions": {
            "cores": os.cpu_count(),
            "server": "ILS API in-process under uvicorn (one worker), loopback HTTP, same process "
            "as the senders",
            "sender": "ils.sim.webhook.WebhookSender (signed, sequential per sender)",
            "events": "lab simulator job streams (default lab config), in order per job",
            "stations": "in-process station state (no Ray)",
            "database": "scratch database on ILS_DATABASE_URL or the embedded PostgreSQL",
            "seed": SEED,
            "quick": args.quick,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
