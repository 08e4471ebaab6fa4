"""Alert latency: telemetry received -> alert on the WebSocket, at a sustained reading rate.

A lab of ``--machines`` machines streams healthy readings (the degradation generator with every
failure mode off, one reading per machine-minute of model time, starting six days ago: a backfill
pace, so that the flood check lets the rate through) to ``POST /api/telemetry`` at ``--rate``
readings per second in total. ``SENDERS`` device gateways each own a share of the machines and
send their due readings every 100 ms, one request at a time (each machine's readings arrive in
order; a late answer makes the next batch larger). After a warm-up that fills the detectors (not
measured), a vibration spike (20x the machine's baseline) is planted in a random machine's stream
every ``--spike-every`` seconds. A screen connected to the real-time gateway (uvicorn on loopback,
the lab's tenant room in-process, topic ``alerts``) records when each alert frame arrives. A
spike's latency runs from the moment its batch is sent to the first alert frame about its machine
that has seen it (``last_seen_at`` at or after the spike). The API runs in the same process over
ASGI, with the in-process anomaly model, or (``--ray``) with the lab's ``AnomalyModel`` actor on a
local Ray: each telemetry batch is then one actor call (check, COPY, detectors).

Run: ``python -m bench.alert_latency [--quick] [--ray]``. Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import uvicorn
import websockets

from bench.scratch import free_port, scratch_database
from ils.api.app import create_app
from ils.api.realtime.app import create_realtime_app
from ils.bus import Bus
from ils.db.database import Database
from ils.domain.access import TenantKind
from ils.embedded import ensure_services
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.services.replay import LogSource
from ils.services.rooms import LocalRooms, RoomsPublisher
from ils.settings import Settings
from ils.sim.telemetry import KINDS, DegradationParams, Machine, TelemetryGenerator

SEED = 20261125
PASSWORD = "Bench-Alert-Latency-61!"
HEALTHY = DegradationParams(gradual_rate=0.0, sudden_rate=0.0, drift_rate=0.0, spike_prob=0.0)
WARMUP = 320  # readings per machine before spikes (the detectors warm up after 288)
TICK_S = 0.1
SENDERS = 4  # device gateways sending at once, each for a share of the machines


@asynccontextmanager
async def _stack(
    settings: Settings, on_ray: bool
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, str]]:
    db = await Database.connect(settings)
    bus = Bus.connect(settings)
    source = LogSource(db, bus)
    rooms = LocalRooms(source, source.remember)
    gateways = Gateways(publisher=RoomsPublisher(rooms), rooms=rooms)
    if on_ray:
        from actors.anomaly import RayAnomaly

        gateways = Gateways(publisher=gateways.publisher, rooms=rooms, anomaly=RayAnomaly(settings))
    runtime = Runtime(settings, db, bus, gateways)
    port = free_port()
    app = create_realtime_app(settings, runtime=runtime, path="/ws")
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # surface why the gateway did not start
            raise RuntimeError("the gateway stopped before it started")
        await asyncio.sleep(0.02)
    transport = httpx.ASGITransport(app=create_app(settings, runtime=runtime))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ils.bench", timeout=60
        ) as client:
            yield runtime, client, f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await serving
        await runtime.anomaly.settle()
        await bus.delete_prefix("")
        await runtime.close()


def _streams(machines: int, per_machine: int, start: datetime) -> list[list[dict[str, Any]]]:
    fleet = [Machine(f"m{i:03d}", KINDS[i % len(KINDS)], "edging") for i in range(machines)]
    gen = TelemetryGenerator(fleet, np.random.default_rng(SEED), HEALTHY)
    frames = gen.frames_between(start, start + timedelta(minutes=per_machine), timedelta(minutes=1))
    out = []
    for f in frames.frames:
        out.append(
            [
                {
                    "equipment_id": f.equipment_id,
                    "at": datetime.fromtimestamp(float(t), UTC).isoformat(),
                    "metrics": {k: round(float(v), 4) for k, v in zip(f.metrics, row, strict=True)},
                }
                for t, row in zip(f.times, f.values, strict=True)
            ]
        )
    return out


class Screen:
    """A WebSocket client on the lab's alerts: (arrival time, subject, last_seen_at) per frame."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, str, datetime]] = []

    async def run(self, url: str, token: str, ready: asyncio.Event) -> None:
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.send(json.dumps({"type": "subscribe", "topics": ["alerts"]}))
            ready.set()
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "event":
                    alert = frame["event"].get("alert") or {}
                    seen = alert.get("last_seen_at") or alert.get("detected_at")
                    if seen:
                        at = datetime.fromisoformat(str(seen).replace("Z", "+00:00"))
                        self.frames.append((time.perf_counter(), alert["subject"], at))


async def _lab(runtime: Runtime, client: httpx.AsyncClient, machines: int) -> dict[str, str]:
    made = await runtime.identity.create_tenant(
        TenantKind.LAB, "Latency Lab", "admin@latency-lab.example", PASSWORD, runtime.clock()
    )
    login = await client.post(
        "/api/auth/login", json={"email": "admin@latency-lab.example", "password": PASSWORD}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for i in range(machines):
        body = {"id": f"m{i:03d}", "station": "edging", "kind": KINDS[i % len(KINDS)]}
        response = await client.post("/api/equipment", json=body, headers=auth)
        assert response.status_code == 201, response.text
    return {**auth, "tenant": made["tenant_id"]}


async def _post(
    client: httpx.AsyncClient, auth: dict[str, str], batch: list[Any]
) -> tuple[float, set[str], int]:
    """(round trip in ms, subjects of the alerts the batch raised or updated, readings accepted)."""
    began = time.perf_counter()
    response = await client.post("/api/telemetry", json={"readings": batch}, headers=auth)
    if response.status_code != 200:
        raise RuntimeError(response.text)
    body = response.json()
    subjects = {a["subject"] for a in body["alerts"]}
    return (time.perf_counter() - began) * 1000.0, subjects, int(body["accepted"])


async def _measure(
    settings: Settings, machines: int, rate: int, seconds: float, spike_every: float, on_ray: bool
) -> dict[str, Any]:
    per_machine = WARMUP + int(seconds * rate / machines) + 2
    streams = _streams(machines, per_machine, datetime.now(UTC) - timedelta(days=6))
    rng = np.random.default_rng(SEED)
    async with _stack(settings, on_ray) as (runtime, client, ws_url):
        lab = await _lab(runtime, client, machines)
        auth = {"Authorization": lab["Authorization"]}
        for k in range(0, WARMUP, 40):  # warm-up: not measured
            await _post(client, auth, [r for s in streams for r in s[k : min(k + 40, WARMUP)]])
        await runtime.anomaly.settle()
        screen, ready = Screen(), asyncio.Event()
        token = lab["Authorization"].split(" ", 1)[1]
        listener = asyncio.create_task(screen.run(ws_url, token, ready))
        await ready.wait()
        await asyncio.sleep(0.5)
        out = await _stream(client, auth, streams, rate, seconds, spike_every, rng)
        elapsed = time.perf_counter() - out["t0"]
        await asyncio.sleep(3.0)
        listener.cancel()
    figures = _figures(out["spikes"], screen, out["posts"], out["sent"], seconds, float(rate))
    alerted = sum(subject in out["alerted"] for _, subject, _ in out["spikes"])
    return {
        **figures,
        "readings_accepted": out["accepted"],
        "readings_per_s_achieved": round(out["sent"] / elapsed, 1),
        "spike_machines_alerted_in_ingest_answers": alerted,
    }


def _plan_spikes(
    streams: list[list[dict[str, Any]]],
    per_machine_s: float,
    seconds: float,
    every: float,
    rng: np.random.Generator,
) -> dict[tuple[str, str], str]:
    """Spike one reading every ``every`` seconds of sending, in a random machine."""
    planned: dict[tuple[str, str], str] = {}
    for k in range(1, int(seconds / every)):
        stream = streams[int(rng.integers(len(streams)))]
        reading = stream[WARMUP + int(k * every * per_machine_s)]
        base = reading["metrics"]["vibration_mm_s"]
        reading["metrics"] = {**reading["metrics"], "vibration_mm_s": round(base * 20, 4)}
        planned[(reading["equipment_id"], reading["at"])] = f"equipment:{reading['equipment_id']}"
    return planned


async def _sender(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    streams: list[list[dict[str, Any]]],
    per_machine_s: float,
    seconds: float,
    planned: dict[tuple[str, str], str],
    out: dict[str, Any],
) -> None:
    """One device gateway: its machines' due readings every tick, one request at a time (so each
    machine's readings arrive in order); a late answer makes the next batch larger."""
    t0, pos = out["t0"], WARMUP
    while (elapsed := time.perf_counter() - t0) < seconds:
        due = min(WARMUP + int(elapsed * per_machine_s) + 1, len(streams[0]))
        batch = [r for s in streams for r in s[pos:due]]
        pos = due
        if batch:
            sent_at = time.perf_counter()
            for r in batch:
                key = (r["equipment_id"], r["at"])
                if key in planned:
                    out["spikes"].append((sent_at, planned[key], datetime.fromisoformat(r["at"])))
            ms, subjects, accepted = await _post(client, auth, batch)
            out["posts"].append(ms)
            out["sent"] += len(batch)
            out["accepted"] += accepted
            out["alerted"] |= subjects
        await asyncio.sleep(max(0.0, TICK_S - (time.perf_counter() - t0 - elapsed)))


async def _stream(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    streams: list[list[dict[str, Any]]],
    rate: int,
    seconds: float,
    spike_every: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    per_machine_s = rate / len(streams)
    planned = _plan_spikes(streams, per_machine_s, seconds, spike_every, rng)
    out: dict[str, Any] = {
        "t0": time.perf_counter(),
        "spikes": [],
        "posts": [],
        "sent": 0,
        "accepted": 0,
        "alerted": set(),
    }
    groups = [streams[i::SENDERS] for i in range(SENDERS)]
    await asyncio.gather(
        *(_sender(client, auth, g, per_machine_s, seconds, planned, out) for g in groups)
    )
    return out


def _figures(
    spikes: list[tuple[float, str, datetime]],
    screen: Screen,
    posts: list[float],
    sent: int,
    seconds: float,
    target: float,
) -> dict[str, Any]:
    latencies, missed = [], 0
    for sent_at, subject, at in spikes:
        seen = [t for t, s, last in screen.frames if s == subject and t >= sent_at and last >= at]
        if seen:
            latencies.append((min(seen) - sent_at) * 1000.0)
        else:
            missed += 1
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    return {
        "readings_per_s_target": target,
        "readings_sent": sent,
        "spikes": len(spikes),
        "spikes_without_alert_frame": missed,
        "alert_latency_ms": {
            "p50": round(float(np.percentile(lat, 50)), 1),
            "p95": round(float(np.percentile(lat, 95)), 1),
            "p99": round(float(np.percentile(lat, 99)), 1),
            "max": round(float(np.max(lat)), 1),
        },
        "ingest_post_ms": {
            "p50": round(float(np.percentile(posts, 50)), 1),
            "p99": round(float(np.percentile(posts, 99)), 1),
        },
        "seconds": seconds,
    }


async def _run(
    settings: Settings, machines: int, rate: int, seconds: float, spike_every: float, on_ray: bool
) -> dict[str, Any]:
    async with scratch_database(settings) as scratch:
        return await _measure(scratch, machines, rate, seconds, spike_every, on_ray)


def measure(
    quick: bool, machines: int = 20, rate: int = 1000, on_ray: bool = False
) -> dict[str, Any]:
    """The figures (used by ``bench.anomaly`` too)."""
    seconds, spike_every = (10.0, 0.5) if quick else (40.0, 0.5)
    settings, services = ensure_services(Settings())
    if on_ray:
        import ray

        # a local Ray (free ports, never 6379) for the lab's AnomalyModel actor
        ray.init(num_cpus=2, namespace="ils", include_dashboard=False, log_to_driver=False)
    try:
        figures = asyncio.run(_run(settings, machines, rate, seconds, spike_every, on_ray))
    finally:
        services.stop()
        if on_ray:
            ray.shutdown()
    return {
        **figures,
        "goal": {"alert_latency_p99_ms": 1000},
        "conditions": {
            "cores": os.cpu_count(),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
            "machines": machines,
            "batch_every_s": TICK_S,
            "spike_every_s": spike_every,
            "warmup_readings_per_machine": WARMUP,
            "server": "ILS API in-process over ASGI, real-time gateway under uvicorn on loopback, "
            + (
                "the lab's AnomalyModel actor on a local Ray (one call per batch)"
                if on_ray
                else "in-process anomaly model (no Ray), one process"
            ),
            "database": "scratch database on ILS_DATABASE_URL or the embedded PostgreSQL",
            "seed": SEED,
            "quick": quick,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s instead of 40 s")
    parser.add_argument("--machines", type=int, default=20)
    parser.add_argument("--rate", type=int, default=1000, help="readings per second")
    parser.add_argument(
        "--ray", action="store_true", help="the anomaly model in its Ray actor (a local Ray)"
    )
    args = parser.parse_args(argv)
    figures = measure(args.quick, args.machines, args.rate, args.ray)
    print(json.dumps({"bench": "alert_latency", **figures}))


if __name__ == "__main__":
    main()
