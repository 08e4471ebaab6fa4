"""How fast the lab simulator runs: the discrete-event model, offline history and signed webhooks.

Run: ``python -m bench.sim_throughput [--quick]`` from the repository root. Prints one JSON object
on the last line. Measures, never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import date
from typing import Any

import httpx
import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ils.lims.signature import verify
from ils.sim.config import default_lab_config
from ils.sim.history import generate_history
from ils.sim.lims import LimsConfig
from ils.sim.model import LabModel
from ils.sim.order_mix import synthetic_order
from ils.sim.serve import serve_lims

SEED = 20261125
SECRET = "bench-secret"


def model_throughput(jobs: int) -> dict[str, Any]:
    model = LabModel(default_lab_config(), np.random.default_rng(SEED))
    orders = np.random.default_rng(SEED + 1)
    per_day = 400.0
    began = time.perf_counter()
    for k in range(jobs):
        model.run_until(k * 1440.0 / per_day)
        model.submit(synthetic_order(orders))
    model.run_until(jobs * 1440.0 / per_day + 10 * 1440.0)
    wall = time.perf_counter() - began
    simulated_days = model.now / 1440.0
    return {
        "jobs": jobs,
        "events": len(model.emitted),
        "wall_s": round(wall, 3),
        "jobs_per_s": round(jobs / wall, 1),
        "events_per_s": round(len(model.emitted) / wall, 1),
        "simulated_days_per_wall_s": round(simulated_days / wall, 2),
    }


def history_throughput(days: int, per_day: float) -> dict[str, Any]:
    began = time.perf_counter()
    history = generate_history(date(2024, 1, 1), days, per_day, np.random.default_rng(SEED))
    wall = time.perf_counter() - began
    orders = history.size("orders")
    return {
        "days": days,
        "per_day": per_day,
        "orders": orders,
        "visits": history.size("visits"),
        "wall_s": round(wall, 3),
        "orders_per_s": round(orders / wall),
    }


async def _fake_ils(port: int) -> tuple[uvicorn.Server, asyncio.Task[None], list[int]]:
    received = [0]

    async def hook(request: Request) -> Response:
        body = await request.body()
        verify(request.headers.get("ils-signature"), body, [SECRET.encode()], int(time.time()))
        payload = json.loads(body)
        received[0] += len(payload["events"]) if "events" in payload else 1
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/api/webhooks/lims/{lab}", hook, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    return server, task, received


async def webhook_throughput(seconds: float, batch_size: int, per_day: float) -> dict[str, Any]:
    ils, ils_task, received = await _fake_ils(port=0)
    ils_port = ils.servers[0].sockets[0].getsockname()[1]
    config = LimsConfig(
        ils_base_url=f"http://127.0.0.1:{ils_port}",
        lab_tenant_id="bench-lab",
        webhook_secret=SECRET,
        api_key="bench-key",
        port=0,
        speed=86400.0 / 10,  # ten wall seconds per simulated day
        seed=SEED,
        batch_size=batch_size,
        self_arrivals_per_day=per_day,
        telemetry=False,
    )
    handle = await serve_lims(config)
    async with httpx.AsyncClient() as client:
        ok = await client.get(f"{handle.url}/healthz")
    await asyncio.sleep(seconds)
    stats = handle.simulator.stats()
    await handle.stop()
    ils.should_exit = True
    await ils_task
    return {
        "wall_s": seconds,
        "batch_size": batch_size,
        "self_arrivals_per_day": per_day,
        "speed": config.speed,
        "health": ok.status_code,
        "events_emitted": stats["events_queued"],
        "events_delivered_verified": received[0],
        "events_per_s": round(received[0] / seconds, 1),
        "requests": stats["requests"],
        "retries": stats["retries"],
        "backlog_at_end": stats["events_pending"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    jobs, days, per_day, seconds = (
        (1000, 90, 1000.0, 3.0) if args.quick else (6000, 730, 1400.0, 8.0)
    )
    result = {
        "bench": "sim_throughput",
        "cores": os.cpu_count(),
        "seed": SEED,
        "quick": args.quick,
        "model": model_throughput(jobs),
        "history": history_throughput(days, per_day),
        "webhooks": asyncio.run(webhook_throughput(seconds, batch_size=100, per_day=20000.0)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
