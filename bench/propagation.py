"""`ils bench propagation`: signed LIMS webhook sent -> WebSocket frame received, on Ray Serve.

One lab and four linked practices; orders placed through the API; 100 authenticated WebSocket
clients (about half on the lab, the rest over the practices) connected with ``since=<head>``
before a sender posts signed single-event webhooks at a fixed rate. Every webhook moves its job
one step along its route (accepted, each station in order, shipped, delivered) with increasing
per-job ``sequence``, so every one becomes order events in the lab's and the practice's logs.

Measured: latency from the moment a webhook request starts (a pool slot held) to the moment a client
process has the frame (matched through the event's ``by.lims_event_id``) over every (client,
event) pair; events lost (the client's visible log slice minus what it received) and duplicated
(one seq twice at a client); HTTP errors; a rate sweep; and beside it a bare Serve WebSocket echo
(bench/echo_app.py) with 100 clients at the same message rate.

With ``--batch-ms W`` the sender behaves like a LIMS that batches (API.md allows 500 events per
request): events are still generated at the fixed rate, each stamped when generated, and those
generated within each W-millisecond window leave together as one signed ``{"events": [...]}``
request at the window's end. Latency is then measured from each event's generation, so the
batching delay counts against the product. ``latency_from_generated_ms`` is reported in both
modes (in single-event mode it adds the sender's own backlog).

The clients offer permessage-deflate, as browsers do; the gateway refuses it unless
``ILS_WS_COMPRESSION`` is set (then every frame is compressed once per socket), and
``--compression none`` does not offer it. ``connections.sessions_with_permessage_deflate`` says
what was negotiated.

The clients run in their own processes (50 sockets each; ``client_processes_cpu`` says how much
of the machine they took, on average over their life); the sender shares the driver process
with the Ray driver and the orchestration. Everything shares the machine's cores with Ray, Serve,
PostgreSQL and Redis. Runs against ``ILS_DATABASE_URL``/``ILS_REDIS_URL`` (a scratch database is
created and dropped) or embedded servers in a temporary directory. Last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

from bench.propagation_clients import CLIENT_PROCESSES, Clients, Viewer, echo_process
from bench.propagation_setup import (
    CLIENTS,
    PRACTICES,
    STEPS,
    Phase,
    free_port,
    open_lab_views,
    phases_of,
    place_orders,
    scratch,
    tenants,
    viewers_of,
    with_database,
)
from bench.resources import processes_now, work_by_kind
from bench.scratch import drop_prefix

P99_BUDGET_MS = 250.0
DRAIN_TIMEOUT_S = 20.0
#: How long a phase waits for webhook answers after its schedule ends (at least its duration).
ANSWER_GRACE_S = 30.0
#: Webhooks in flight at once (the sender's connection pool).
IN_FLIGHT = 64


class Sender:
    """Posts signed single-event webhooks on a fixed schedule (open loop, not waiting for answers).

    Only a job's previous webhook is awaited before its next one (a LIMS keeps a job in order);
    the schedule gives a job's steps seconds apart, so this wait is counted, not expected. At most
    ``IN_FLIGHT`` requests are outstanding; the time a webhook waited behind the schedule (job
    order or a full pool) is reported as the sender's backlog, apart from the latency.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        lab_id: str,
        secret: str,
        total: int,
        batch_s: float = 0.0,
    ) -> None:
        self.http, self.url = http, f"{base_url}/api/webhooks/lims/{lab_id}"
        self.secret = secret.encode()
        #: 0: one signed request per event; else events are grouped over this window.
        self.batch_s = batch_s
        self.sent = np.full(total, np.nan)
        self.answered = np.full(total, np.nan)
        self.due = np.full(total, np.nan)
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.outcomes: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.job_waits = 0
        self._previous: dict[str, asyncio.Task[None]] = {}

    def _count(self, into: dict[str, int], key: str) -> None:
        into[key] = into.get(key, 0) + 1

    @staticmethod
    def _event(idx: int, order_id: str, step: int) -> dict[str, Any]:
        from ils.services.ports import utc_now
        from ils.sim.events import rfc3339

        kind, data = STEPS[step]
        body = {"job_id": f"J-{order_id}", "order_id": order_id, "sequence": step + 1, **data}
        event = {"id": f"evt_{idx:09d}", "type": kind, "occurred_at": rfc3339(utc_now())}
        return {**event, "data": body}

    async def _post(self, idx: int, order_id: str, step: int, before: Any) -> None:
        await self._send([idx], [self._event(idx, order_id, step)], [before])

    async def _send(self, idxs: list[int], events: list[dict[str, Any]], before: list[Any]) -> None:
        """One signed request (a single event, or ``{"events": [...]}``) after the jobs' previous
        steps were answered."""
        from ils.lims.signature import sign

        waits = {b for b in before if b is not None and not b.done()}
        if waits:
            self.job_waits += 1
            await asyncio.wait(waits)
        raw = json.dumps(events[0] if not self.batch_s else {"events": events}).encode()
        headers = {"ILS-Signature": sign(self.secret, raw, int(time.time()))}
        headers["Content-Type"] = "application/json"
        async with self.gate:  # a bounded number of requests in flight
            self.sent[idxs] = time.time()
            try:
                async with self.http.post(self.url, data=raw, headers=headers) as answer:
                    status, body = answer.status, await answer.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._count(self.errors, type(exc).__name__)
                return
            self.answered[idxs] = time.time()
        if status != 200:
            self._count(self.errors, str(status))
            return
        for result in body["results"] if self.batch_s else [body]:
            self._count(self.outcomes, str(result.get("result")))

    async def _single(self, phase: Phase, start: float) -> list[asyncio.Task[None]]:
        """Single-event mode: one request per event, sent when the event is generated."""
        n = len(phase.orders)
        tasks: list[asyncio.Task[None]] = []
        for k in range(phase.count):
            await asyncio.sleep(max(0.0, start + k / phase.rate - time.perf_counter()))
            order_id = phase.orders[k % n]
            self.due[phase.first + k] = time.time()
            task = asyncio.create_task(
                self._post(phase.first + k, order_id, k // n, self._previous.get(order_id))
            )
            self._previous[order_id] = task
            tasks.append(task)
        return tasks

    async def _batched(self, phase: Phase, start: float) -> list[asyncio.Task[None]]:
        """Batching mode: events generated at the fixed rate (each stamped when generated), sent
        together at the end of each ``batch_s`` window as one signed request."""
        n = len(phase.orders)
        tasks: list[asyncio.Task[None]] = []
        wall0 = time.time() - time.perf_counter()  # perf_counter -> wall clock
        k, window = 0, 1
        while k < phase.count:
            until = start + window * self.batch_s
            await asyncio.sleep(max(0.0, until - time.perf_counter()))
            idxs, events, before = [], [], []
            while k < phase.count and start + k / phase.rate <= until:
                idx, order_id = phase.first + k, phase.orders[k % n]
                self.due[idx] = wall0 + start + k / phase.rate
                idxs.append(idx)
                events.append(self._event(idx, order_id, k // n))
                before.append(self._previous.get(order_id))
                k += 1
            window += 1
            if not idxs:
                continue
            task = asyncio.create_task(self._send(idxs, events, before))
            for event in events:
                self._previous[event["data"]["order_id"]] = task
            tasks.append(task)
        return tasks

    async def run(self, phase: Phase) -> dict[str, Any]:
        """Send the phase's webhooks on schedule; what was sent and answered."""
        self.outcomes, self.errors, self.job_waits = {}, {}, 0
        start = time.perf_counter()
        tasks = await (self._batched if self.batch_s else self._single)(phase, start)
        # A server that cannot keep up must not stretch the run without bound: what is not
        # answered after the grace is abandoned (and counted).
        _, pending = await asyncio.wait(tasks, timeout=max(ANSWER_GRACE_S, phase.duration_s))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        window = slice(phase.first, phase.first + phase.count)
        backlog = (self.sent[window] - self.due[window]) * 1000.0
        sent = self.sent[window]
        sent = sent[~np.isnan(sent)]
        spread = float(sent.max() - sent.min()) if sent.size > 1 else 0.0
        return {
            "webhooks": phase.count,
            "requests": len(tasks),
            "webhooks_sent": int(sent.size),
            "sent_rate_per_s": round(sent.size / spread, 1) if spread else None,
            "abandoned_unanswered": len(pending),
            "sent_but_unanswered": int(
                np.sum(np.isfinite(self.sent[window]) & np.isnan(self.answered[window]))
            ),
            "sender_backlog_ms": _percentiles(backlog[np.isfinite(backlog)]),
            "last_answer_after_s": round(time.perf_counter() - start, 2),
            "outcomes": self.outcomes,
            "http_errors": sum(self.errors.values()),
            "http_errors_by_kind": self.errors,
            "waits_for_previous_step_of_job": self.job_waits,
        }


async def _log_heads(conn: Any, tenant_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT t::text AS tenant_id, coalesce((SELECT max(seq) FROM events e"
        " WHERE e.tenant_id = t), 0) AS head FROM unnest($1::uuid[]) AS t",
        tenant_ids,
    )
    return {r["tenant_id"]: int(r["head"]) for r in rows}


async def _drain(
    conn: Any, viewers: list[Viewer], last: Any, heads: dict[str, int]
) -> dict[str, Any]:
    """Wait until every client has the newest event up to ``heads`` its role sees (or timeout).

    Events committed after ``heads`` (a late answer) belong to the next phase's window.
    """
    targets = []
    for v in viewers:
        newest = await conn.fetchval(
            "SELECT coalesce(max(seq), 0) FROM events"
            " WHERE tenant_id = $1 AND topic = any($2) AND seq <= $3",
            v.tenant_id,
            list(v.topics),
            heads[v.tenant_id],
        )
        targets.append(int(newest))
    began, behind = time.perf_counter(), len(viewers)
    while time.perf_counter() - began < DRAIN_TIMEOUT_S:
        behind = sum(1 for v, t in zip(viewers, targets, strict=True) if last[v.index] < t)
        if not behind:
            break
        await asyncio.sleep(0.05)
    return {"drain_s": round(time.perf_counter() - began, 2), "clients_behind": behind}


async def _quiet(conn: Any, tenant_ids: list[str]) -> dict[str, Any]:
    """After a phase, wait until the server has nothing left of it (requests the sender abandoned
    may still commit): no log moved for a second, at most ``DRAIN_TIMEOUT_S``. So the next phase
    starts on an idle server, and what committed late stays in this phase's window."""
    began = time.perf_counter()
    heads = await _log_heads(conn, tenant_ids)
    while time.perf_counter() - began < DRAIN_TIMEOUT_S:
        await asyncio.sleep(1.0)
        now = await _log_heads(conn, tenant_ids)
        if now == heads:
            break
        heads = now
    return {"quiet_after_s": round(time.perf_counter() - began, 2)}


async def _logs(conn: Any, start: dict[str, int]) -> dict[str, tuple[Any, Any]]:
    """Every tenant's log after the clients connected: (seqs, topics)."""
    logs = {}
    for tenant_id, head in start.items():
        rows = await conn.fetch(
            "SELECT seq, topic FROM events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq",
            tenant_id,
            head,
        )
        seqs = np.array([r["seq"] for r in rows], dtype=np.int64)
        logs[tenant_id] = (seqs, np.array([r["topic"] for r in rows], dtype=object))
    return logs


async def _drive(
    base_url: str,
    settings: Any,
    parties: dict[str, Any],
    phases: list[Phase],
    batch_s: float,
    compression: str | None,
) -> dict[str, Any]:
    """Users, orders, clients, then each phase's stream; raw figures for the analysis."""
    import asyncpg

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        viewers = await viewers_of(http, parties)
        placing_s = await place_orders(http, parties, phases)
        views_s = await open_lab_views(http, parties)
        conn = await asyncpg.connect(settings.database_url)
        try:
            tenant_ids = sorted({v.tenant_id for v in viewers})
            start = await _log_heads(conn, tenant_ids)
            viewers = [Viewer(v.index, v.token, v.tenant_id, v.topics, start[v.tenant_id])
                       for v in viewers]  # fmt: skip
            clients = Clients(base_url.replace("http://", "ws://") + "/ws", viewers, compression)
            connect_s = await clients.start()
            lab = parties["lab"]
            total = sum(p.count for p in phases)
            connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
            timeout = aiohttp.ClientTimeout(total=60)
            bounds, streams = [start], []
            try:
                async with aiohttp.ClientSession(connector=connector, timeout=timeout) as posts:
                    sender = Sender(posts, base_url, lab["tenant_id"], lab["webhook_secret"],
                                    total, batch_s)  # fmt: skip
                    helpers = {proc.pid for proc in clients.procs if proc.pid}
                    for phase in phases:
                        work_before, began = processes_now(), time.monotonic()
                        sent = await sender.run(phase)
                        sent |= work_by_kind(work_before, time.monotonic() - began, helpers)
                        quiet = await _quiet(conn, tenant_ids)
                        heads = await _log_heads(conn, tenant_ids)
                        drained = await _drain(conn, viewers, clients.last, heads)
                        bounds.append(heads)
                        streams.append({**sent, **quiet, **drained})
            finally:
                seen = await clients.stop()
            logs = await _logs(conn, start)
        finally:
            await conn.close()
    return {
        "viewers": viewers, "seen": seen, "logs": logs, "bounds": bounds, "streams": streams,
        "sent": sender.sent, "answered": sender.answered, "due": sender.due,
        "batched": bool(batch_s),
        "placing_s": placing_s, "connect_s": connect_s, "views_s": views_s,
        "clients_cpu": {"cpu_s": round(clients.cpu_s, 1), "wall_s": round(clients.wall_s, 1),
                        "cores_busy": round(clients.cpu_s / clients.wall_s, 2)
                        if clients.wall_s else None},
    }  # fmt: skip


def _percentiles(ms: Any) -> dict[str, float]:
    values = np.asarray(ms, dtype=np.float64)
    if not values.size:
        return {"n": 0}
    found = np.percentile(values, [50, 95, 99])
    return {
        "p50": round(float(found[0]), 2),
        "p95": round(float(found[1]), 2),
        "p99": round(float(found[2]), 2),
        "max": round(float(values.max()), 2),
        "n": int(values.size),
    }


def _finite(values: Any) -> Any:
    return values[np.isfinite(values)]


def _phase_figures(run: dict[str, Any], k: int, phase: Phase) -> dict[str, Any]:
    """Latency over every (client, event) pair of the phase; lost, duplicated, unexpected."""
    before, after = run["bounds"][k], run["bounds"][k + 1]
    window_of = slice(phase.first, phase.first + phase.count)
    sent, answered = run["sent"][window_of], run["answered"][window_of]
    round_trips = (answered - sent) * 1000.0
    # Batching mode: from the moment each event was generated (the batching delay counts).
    origin = run["due"] if run["batched"] else run["sent"]
    latencies, generated, after_answer = [], [], []
    lost, duplicated, unexpected, frames = 0, 0, 0, 0
    first_sent, last_frame = float(np.nanmin(sent)) if np.isfinite(sent).any() else 0.0, 0.0
    for viewer, got in zip(run["viewers"], run["seen"], strict=True):
        hooks = got["hooks"]
        mine = (hooks >= phase.first) & (hooks < phase.first + phase.count)
        latencies.append((got["times"][mine] - origin[hooks[mine]]) * 1000.0)
        if mine.any():
            last_frame = max(last_frame, float(got["times"][mine].max()))
        generated.append((got["times"][mine] - run["due"][hooks[mine]]) * 1000.0)
        after_answer.append((got["times"][mine] - run["answered"][hooks[mine]]) * 1000.0)
        lo, hi = before[viewer.tenant_id], after[viewer.tenant_id]
        seqs = got["seqs"][(got["seqs"] > lo) & (got["seqs"] <= hi)]
        log_seqs, log_topics = run["logs"][viewer.tenant_id]
        window = (log_seqs > lo) & (log_seqs <= hi) & np.isin(log_topics, viewer.topics)
        expected, unique = log_seqs[window], np.unique(seqs)
        duplicated += seqs.size - unique.size
        lost += np.setdiff1d(expected, unique).size
        unexpected += np.setdiff1d(unique, expected).size
        frames += seqs.size
    return {
        "name": phase.name,
        "rate_per_s": phase.rate,
        "duration_s": phase.duration_s,
        "orders": len(phase.orders),
        **run["streams"][k],
        "latency_ms": _percentiles(np.concatenate(latencies)),
        "latency_from_generated_ms": _percentiles(np.concatenate(generated)),
        "webhook_round_trip_ms": _percentiles(_finite(round_trips)),
        "answer_to_frame_ms": _percentiles(_finite(np.concatenate(after_answer))),
        "events_lost": int(lost),
        "events_duplicated": int(duplicated),
        "events_unexpected": int(unexpected),
        "frames_received": int(frames),
        # over the time the phase's frames really took: first webhook sent -> last frame read
        "frames_received_per_s": round(frames / max(last_frame - first_sent, 1e-9), 1)
        if frames
        else 0.0,
    }


def _connections(seen: list[dict[str, Any]]) -> dict[str, Any]:
    closes: dict[str, int] = {}
    for got in seen:
        for code, n in got["closes"].items():
            closes[code] = closes.get(code, 0) + n
    return {
        "reconnects": sum(max(0, int(g["connects"]) - 1) for g in seen),
        "sessions": sum(int(g["connects"]) for g in seen),
        "sessions_with_permessage_deflate": sum(int(g["deflated"]) for g in seen),
        "close_codes_seen": closes,
        "resets": sum(int(g["resets"]) for g in seen),
        "error_frames": sum(int(g["errors"]) for g in seen),
    }


def _echo(port: int, rate: float, duration: float) -> dict[str, Any]:
    """The bare Serve WebSocket echo: 100 clients, ``rate`` frames/s in all, round trips."""
    from ray import serve

    from bench.echo_app import build_echo

    serve.run(build_echo(), name="echo", route_prefix="/echo")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    per = CLIENTS // CLIENT_PROCESSES
    url = f"ws://127.0.0.1:{port}/echo/"
    procs = [
        ctx.Process(
            target=echo_process,
            args=(url, i * per, per, (rate, rate / CLIENTS), duration, out),
        )
        for i in range(CLIENT_PROCESSES)
    ]
    for proc in procs:
        proc.start()
    rtts: list[float] = []
    for _ in procs:
        rtts += out.get(True, duration + 180)
    for proc in procs:
        proc.join(10)
    sent = CLIENTS * int(rate / CLIENTS * duration)
    return {
        "clients": CLIENTS,
        "rate_per_s": rate,
        "duration_s": duration,
        "frames_sent": sent,
        "frames_echoed": len(rtts),
        "round_trip_ms": _percentiles(rtts),
    }


def _replicas() -> dict[str, int]:
    from ray import serve

    running = {}
    for app_name, app in serve.status().applications.items():
        for name, deployment in app.deployments.items():
            states = deployment.replica_states.items()
            running[f"{app_name}/{name}"] = sum(n for s, n in states if str(s).endswith("RUNNING"))
    return running


def _on_ray(settings: Any, args: argparse.Namespace, phases: list[Phase]) -> dict[str, Any]:
    import ray
    from ray import serve

    from actors.deploy import deploy
    from actors.tuning import apply_serve_tuning

    tuning = apply_serve_tuning(args.ingress, haproxy_metrics_port=free_port())
    parties = asyncio.run(tenants(settings))
    ray.init(num_cpus=2, namespace="ils", include_dashboard=False, log_to_driver=False)
    try:
        port = free_port()
        began = time.perf_counter()
        deploy(settings, "127.0.0.1", port)
        deploy_s = time.perf_counter() - began
        url = f"http://127.0.0.1:{port}"
        compression = None if args.compression == "none" else args.compression
        run = asyncio.run(
            _drive(url, settings, parties, phases, args.batch_ms / 1000.0, compression)
        )
        replicas = _replicas()
        echo = _echo(port, args.rate, args.echo_duration)
    finally:
        serve.shutdown()
        ray.shutdown()
    figures = [_phase_figures(run, k, phase) for k, phase in enumerate(phases)]
    return {
        "main": figures[0],
        "sweep": figures[1:],
        "connections": _connections(run["seen"]),
        "client_processes_cpu": run["clients_cpu"],
        "echo": echo,
        "setup_s": {
            "deploy": round(deploy_s, 1),
            "place_orders": round(run["placing_s"], 1),
            "open_lab_views": round(run["views_s"], 1),
            "connect_clients": round(run["connect_s"], 1),
        },
        "serve_tuning": tuning,
        "replicas_running_after_stream": replicas,
    }


def _max_rate(sweep: list[dict[str, Any]]) -> float | None:
    """The highest swept rate whose p99 stayed under the budget (None if none did)."""
    good = [
        s["rate_per_s"]
        for s in sweep
        if s["latency_ms"].get("n") and s["latency_ms"]["p99"] < P99_BUDGET_MS
    ]
    return max(good) if good else None


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 s stream, shorter sweep")
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks per second")
    parser.add_argument("--duration", type=float, help="seconds (60, or 15 with --quick)")
    parser.add_argument("--sweep", help="rates, comma separated (50,100,200,300,400)")
    parser.add_argument("--sweep-duration", type=float, help="seconds per rate (10; quick 5)")
    parser.add_argument("--echo-duration", type=float, help="seconds (15; quick 8)")
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=0.0,
        help="group the events generated over this window into one signed request (0: one "
        "request per event); latency is then measured from each event's generation",
    )
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="the clients offer permessage-deflate (as browsers do), or plain frames",
    )
    parser.add_argument(
        "--ingress",
        choices=("proxy", "haproxy"),
        help="Serve's HAProxy ingress or its Python proxy (default: ILS_SERVE_INGRESS, as ils up)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (15.0 if quick else 60.0)
    args.sweep = [float(r) for r in (args.sweep or ("100,200,400" if quick else
                                                    "50,100,200,300,400")).split(",")]  # fmt: skip
    args.sweep_duration = args.sweep_duration or (5.0 if quick else 10.0)
    args.echo_duration = args.echo_duration or (8.0 if quick else 15.0)
    return args


def main(argv: list[str] | None = None) -> None:
    from ils.embedded import ensure_services
    from ils.settings import Settings

    args = _arguments(argv)
    load_before = os.getloadavg()
    base = Settings(data_dir=Path(tempfile.mkdtemp(prefix="ils-bench-prop-")))
    args.ingress = args.ingress or base.serve_ingress
    embedded = not (base.database_url and base.redis_url)
    settings, services = ensure_services(base)
    name = f"ils_prop_{secrets.token_hex(4)}"
    phases = phases_of(args.rate, args.duration, args.sweep, args.sweep_duration)
    try:
        asyncio.run(scratch(settings, name, create=True))
        isolated = settings.with_urls(
            with_database(settings.database_url, name), settings.redis_url
        ).model_copy(
            update={"redis_prefix": f"ils-prop-{secrets.token_hex(4)}:",
                    "argon2_time_cost": 1, "argon2_memory_kib": 8 * 1024}
        )  # fmt: skip
        try:
            figures = _on_ray(isolated, args, phases)
        finally:
            asyncio.run(scratch(settings, name, create=False))
            asyncio.run(drop_prefix(isolated))
    finally:
        services.stop()
    result = {
        "bench": "propagation",
        **figures,
        "max_rate_p99_under_250ms": _max_rate(figures["sweep"]),
        "goal": {"rate_per_s": 200, "p99_ms": 100, "lost": 0, "duplicated": 0, "promise_ms": 1000},
        "conditions": _conditions(args, load_before, embedded),
    }
    print(json.dumps(result))


def _conditions(args: argparse.Namespace, load_before: Any, embedded: bool) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "quick": args.quick,
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "sweep_rates_per_s": args.sweep,
        "sweep_duration_s": args.sweep_duration,
        "clients": CLIENTS,
        "client_processes": CLIENT_PROCESSES,
        "tenants": {"labs": 1, "practices": PRACTICES},
        "steps_per_job": len(STEPS),
        "ray": "local, num_cpus=2, serve_config.yaml apps (api autoscaled 1 to cores/2, gateway 1)",
        "ingress": args.ingress,
        "sender": "driver process (with the Ray driver and orchestration), aiohttp, open loop",
        "sender_mode": f"batches of the events generated over {args.batch_ms:g} ms"
        if args.batch_ms
        else "one signed request per event",
        "client_compression": "permessage-deflate offered, as browsers do"
        if args.compression == "deflate"
        else "none offered: plain frames",
        "clients_where": f"{CLIENT_PROCESSES} spawned processes of {CLIENTS // CLIENT_PROCESSES} "
        "websockets clients each, JSON frames, no other work",
        "shared_machine": "Ray, Serve replicas, PostgreSQL, Redis and the clients share the cores",
        "database": "embedded PostgreSQL/Redis in a temp dir" if embedded else "ILS_DATABASE_URL",
        "argon2": "time_cost=1, 8 MiB (logins only; not on the measured path)",
        "latency": "event generated (batching delay included) -> frame read by a client"
        if args.batch_ms
        else "webhook request started (pool slot held) -> frame read by a client",
    }


if __name__ == "__main__":
    main()
