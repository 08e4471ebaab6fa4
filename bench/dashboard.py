"""Latency of the metrics routes on a lab with a large generated history, cold and warm.

Run: ``python -m bench.dashboard [--orders N] [--quick] [--runs R]`` (or ``ils bench dashboard``).

1. Generates a year of history offline (``ils.sim.history.generate_history``, seeded), about
   ``--orders`` orders with their remakes, into a fresh database ``ils_bench_dashboard`` on the
   server of ``ILS_BENCH_DATABASE_URL`` (default: the local PostgreSQL), migrated, with a real lab
   and practice tenant, by binary COPY (``ils.db.history_load``). Rollup buckets are computed from
   the same history with pandas (same bucket rules as ``ils.analytics.rollup``) and copied in.
   The bulk load bypasses the live write path, so the lab's order facts and daily sums are then
   built from its records (``LabFigures.current``, as for a lab migrated to 0010): timed apart.
2. Sets a cost model and price list through ``PUT /api/metrics/cost-model``.
3. Times every metrics route through the ASGI app in-process (httpx, no network; real PostgreSQL
   and Redis): the first read of each route after the load (``first_read_ms``); ``--runs`` warm
   reads with nothing new; and ``--runs`` cold reads, each right after a transaction that ships
   ``SHIP_BATCH`` open orders (some with a breakage) through ``events.append``, so the read
   first brings the lab's figures up to the new log head. The per-order cost lines route (which
   reads every order of the period) is timed apart.

Prints ONE JSON object on its last line with the figures and the conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from ils.api.app import create_app
from ils.db import events, history_load, tenants
from ils.domain.access import TenantKind
from ils.domain.event import NewEvent, Topic
from ils.domain.station import Station
from ils.runtime import Runtime
from ils.settings import Settings
from ils.sim.history import MATERIALS, History, generate_history
from ils.sim.job import LENS_TYPES

SEED = 20261125
START = date(2025, 1, 1)
DAYS = 365
REMAKE_SHARE = 0.08  # generate_history adds about 8% remakes on top of per_day
PASSWORD = "Bench-Password-42!"
LAB = "Bench Lab"
DB_NAME = "ils_bench_dashboard"
SHIP_BATCH = 25  # orders shipped by the LIMS between two cold reads (about a minute of a big lab)
BACKLOGS = (100, 500, 2500)  # unread orders arrived and shipped; 2,700 is a day of a 1M/year lab
BREAK_EVERY = 5  # one of these in BREAK_EVERY also gets a breakage
OPEN_ORDERS = """
SELECT id, created_at, lims_job_id FROM orders
WHERE lab_id = $1 AND status = 'in_production' ORDER BY created_at, id LIMIT $2
FOR UPDATE SKIP LOCKED
"""
TEMPLATE = "SELECT practice_id, rx, rx_minus_cyl, lens FROM orders WHERE lab_id = $1 LIMIT 1"
NEW_ORDER = """
INSERT INTO orders (id, order_number, practice_id, lab_id, status, patient_ref, due_date,
    priority, rx, rx_minus_cyl, lens, lims_job_id, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'in_production', $2, $5, 'standard', $6, $7, $8, $2, $9, $9)
"""
SHIP = "UPDATE orders SET status = 'shipped', updated_at = $2 WHERE id = ANY($1::uuid[])"
BREAK = """
INSERT INTO breakages (id, lab_id, order_id, job_id, event_id, station, reason_code,
    restart_station, occurred_at)
VALUES ($1, $2, $3, $4, $5, 'edging', 'chip', 'surfacing', $6)
"""


def _buckets(day: pd.Series, granularity: str) -> pd.Series:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return day.dt.to_period("M").dt.to_timestamp()


def rollup_rows(h: History, tenant_id: str) -> list[tuple[Any, ...]]:
    """The rollups the live path would hold for this history (vectorised, same bucket rules)."""
    o = h.frame("orders")
    shipped = o[o["shipped_at"].notna() & ~o["cancelled"]]
    minutes = (shipped["shipped_at"] - shipped["created_at"]).dt.total_seconds() / 60
    facts: list[tuple[str, pd.Series, pd.Series]] = [
        ("orders_created", o["created_at"], pd.Series(1.0, index=o.index)),
        ("orders_shipped", shipped["shipped_at"], pd.Series(1.0, index=shipped.index)),
        ("cycle_time_sum_min", shipped["shipped_at"], minutes.round(3)),
        ("cycle_time_count", shipped["shipped_at"], pd.Series(1.0, index=shipped.index)),
        ("orders_cancelled", o.loc[o["cancelled"], "created_at"] + pd.Timedelta(hours=1), None),
        ("remakes", o.loc[o["remake_of"] >= 0, "created_at"], None),
    ]
    b, s = h.frame("breakages"), h.frame("inspections")
    facts += [("breakages", b["at"], None), ("inspections", s["at"], None)]
    facts.append(("inspections_failed", s.loc[~s["passed"], "at"], None))
    rows: list[tuple[Any, ...]] = []
    for metric, at, amount in facts:
        frame = pd.DataFrame({"day": at.dt.floor("D").dt.tz_localize(None)})
        frame["amount"] = 1.0 if amount is None else amount.to_numpy()
        for granularity in ("day", "week", "month"):
            grouped = frame.groupby(_buckets(frame["day"], granularity))["amount"].sum()
            rows += [
                (tenant_id, metric, granularity, k.date(), _amount(v)) for k, v in grouped.items()
            ]
    return rows


def _amount(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(float(value), 3)))


def cost_model_body(practice_id: str) -> dict[str, Any]:
    products = [f"{t}/{m}" for t in LENS_TYPES for m in MATERIALS]
    rates = {s.value: f"{30 + 3 * i}.00" for i, s in enumerate(Station)}
    return {
        "currency": "USD",
        "labour_rate_per_hour": rates,
        "blank_cost": {p: f"{12 + 2 * i}.00" for i, p in enumerate(products)},
        "overhead_per_day": "2500.00",
        "prices": [{"product": p, "price": f"{95 + 5 * i}.00"} for i, p in enumerate(products)]
        + [{"product": products[0], "price": "90.00", "practice_id": practice_id}],
    }


async def _tenants(runtime: Runtime, client: httpx.AsyncClient) -> tuple[str, str, str]:
    now = runtime.clock()
    lab = await runtime.identity.create_tenant(
        TenantKind.LAB, LAB, "admin@bench-lab.example", PASSWORD, now
    )
    practice = await runtime.identity.create_tenant(
        TenantKind.PRACTICE, "Bench Practice", "admin@bench-practice.example", PASSWORD, now
    )
    await runtime.identity.link(lab["tenant_id"], practice["tenant_id"], now)
    login = await client.post(
        "/api/auth/login", json={"email": "admin@bench-lab.example", "password": PASSWORD}
    )
    login.raise_for_status()
    return lab["tenant_id"], practice["tenant_id"], login.json()["access_token"]


def routes(today: date, range_name: str) -> dict[str, str]:
    first = (today - timedelta(days=89)).isoformat()
    return {
        "dashboard": f"/api/metrics/dashboard?range={range_name}",
        "production_kpis": f"/api/metrics/production-kpis?range={range_name}",
        "cost_analysis": f"/api/metrics/cost-analysis?range={range_name}",
        "revenue": f"/api/metrics/revenue?range={range_name}",
        "series": f"/api/analytics/series?metric=orders_created&granularity=day&from={first}",
    }


def _stats(samples: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 1),
        "p99_ms": round(float(np.percentile(samples, 99)), 1),
        "max_ms": round(max(samples), 1),
        "n": len(samples),
    }


async def _get(client: httpx.AsyncClient, url: str, token: str) -> tuple[float, int]:
    began = time.perf_counter()
    response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    elapsed = (time.perf_counter() - began) * 1000
    response.raise_for_status()
    return elapsed, len(response.content)


async def ship_some(runtime: Runtime, lab_id: str, n: int, seed: int) -> int:
    """One LIMS-like transaction: ``n`` new orders arrive (created two days ago, in production)
    and the ``n`` oldest open orders ship (every ``BREAK_EVERY``th with a breakage first); the
    events go to the lab's log through ``events.append``. Returns the orders shipped."""
    now = runtime.clock()
    created = now - timedelta(days=2)
    async with runtime.db.transaction() as conn:
        new = await _arrive(conn, lab_id, n, seed, created)
        rows = await conn.fetch(OPEN_ORDERS, lab_id, n)
        for k, r in enumerate(rows):
            if k % BREAK_EVERY == 0:
                event_id = f"bench-{seed}-{k}-{uuid.uuid4()}"
                await conn.execute(
                    BREAK, uuid.uuid4(), lab_id, r["id"], r["lims_job_id"], event_id, now
                )
                data = {"station": "edging", "reason_code": "chip", "event_id": event_id}
                new.append(NewEvent("breakage.recorded", Topic.ORDERS, now, data, str(r["id"])))
            summary = {"created_at": r["created_at"].isoformat(), "status": "shipped"}
            data = {"from": "in_production", "to": "shipped", "order": summary}
            new.append(NewEvent("order.status_changed", Topic.ORDERS, now, data, str(r["id"])))
        await conn.execute(SHIP, [str(r["id"]) for r in rows], now)
        await tenants.lock_heads(conn, [lab_id])
        await events.append(conn, lab_id, new)
    return len(rows)


async def _arrive(conn: Any, lab_id: str, n: int, seed: int, created: datetime) -> list[NewEvent]:
    t = await conn.fetchrow(TEMPLATE, lab_id)
    out = []
    for _ in range(n):
        order_id, number = uuid.uuid4(), f"PO-B-{seed}-{uuid.uuid4().hex[:12]}"
        due = (created + timedelta(days=history_load.DUE_DAYS)).date()
        await conn.execute(
            NEW_ORDER, order_id, number, t["practice_id"], lab_id, due, t["rx"],
            t["rx_minus_cyl"], t["lens"], created,
        )  # fmt: skip
        summary = {"created_at": created.isoformat(), "status": "in_production"}
        out.append(
            NewEvent("order.created", Topic.ORDERS, created, {"order": summary}, str(order_id))
        )
    return out


async def _load(
    runtime: Runtime, client: httpx.AsyncClient, dsn: str, orders: int
) -> tuple[str, dict[str, Any]]:
    """Create the tenants, generate and COPY the history; the lab admin's token and the load."""
    began = time.perf_counter()
    history = generate_history(
        START, DAYS, orders / DAYS / (1 + REMAKE_SHARE), np.random.default_rng(SEED)
    )
    generated_s = time.perf_counter() - began
    lab, practice, token = await _tenants(runtime, client)
    began = time.perf_counter()
    counts = await history_load.load(dsn, history, history_load.LoadTarget(lab, practice, SEED))
    counts["rollups"] = await history_load.load_rollups(dsn, rollup_rows(history, lab))
    put = await client.put(
        "/api/metrics/cost-model",
        json=cost_model_body(practice),
        headers={"Authorization": f"Bearer {token}"},
    )
    put.raise_for_status()
    load = {"generate_s": round(generated_s, 1), "copy_s": round(time.perf_counter() - began, 1)}
    return token, {**load, "rows": counts}


async def _reused(runtime: Runtime, client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """The lab loaded by an earlier run (``--reuse``): log in and count its orders."""
    async with runtime.db.connection() as conn:
        count = await conn.fetchval("SELECT count(*) FROM orders")
    login = await client.post(
        "/api/auth/login", json={"email": "admin@bench-lab.example", "password": PASSWORD}
    )
    login.raise_for_status()
    return login.json()["access_token"], {"reused": True, "rows": {"orders": count}}


async def run(orders: int, runs: int, reuse: bool, range_name: str) -> dict[str, Any]:
    admin = os.environ.get(
        "ILS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    redis = os.environ.get("ILS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    end = START + timedelta(days=DAYS)
    frozen = datetime.combine(end, datetime.min.time(), UTC) - timedelta(seconds=1)
    if reuse:
        dsn = admin.rpartition("/")[0] + "/" + DB_NAME
    else:
        dsn = await history_load.fresh_database(admin, DB_NAME)
    settings = Settings(database_url=dsn, redis_url=redis)
    runtime = await Runtime.open(settings, clock=lambda: frozen)
    today = end - timedelta(days=1)
    try:
        app = create_app(settings, runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            if reuse:
                token, load = await _reused(runtime, client)
            else:
                token, load = await _load(runtime, client, dsn, orders)
            lab_id = await _lab_id(runtime)
            began = time.perf_counter()
            built = await runtime.metrics.figures.current(lab_id)
            load["figures_build_s"] = round(time.perf_counter() - began, 1)
            load["figures_build_orders"] = built.orders
            async with runtime.db.connection() as conn:  # after a bulk load, as autovacuum would
                await conn.execute("ANALYZE order_facts, lab_day_sums")
            latency = await _measure(
                runtime, client, token, lab_id, routes(today, range_name), runs
            )
            backlog = await _backlog(runtime, client, token, lab_id, routes(today, range_name))
            lines_url = f"/api/metrics/cost-analysis/orders?range={range_name}&limit=50"
            lines = [(await _get(client, lines_url, token))[0] for _ in range(2)]
    finally:
        await runtime.close()
    return {
        "bench": "dashboard",
        "latency": latency,
        "cold_after_backlog": backlog,
        "cost_lines_route_ms": {"first": round(lines[0], 1), "second": round(lines[1], 1)},
        "goal_p99_ms": 200,
        "goal_met": {
            n: latency[n]["cold_after_events"]["p99_ms"] < 200
            and latency[n]["warm"]["p99_ms"] < 200
            and latency[n]["first_read_ms"] < 200
            for n in ("dashboard", "production_kpis", "cost_analysis", "revenue")
        },
        "load": load,
        "conditions": {
            "orders_requested": orders,
            "orders_loaded": load["rows"]["orders"],
            "history_days": DAYS,
            "detail_days": history_load.LoadTarget("", "", SEED).detail_days,
            "range": range_name,
            "seed": SEED,
            "cores": os.cpu_count(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "ship_batch_between_cold_reads": SHIP_BATCH,
            "transport": "httpx ASGI in-process; PostgreSQL and Redis local",
            "cache": "none: every read of the four routes reads the daily sums",
            "after_load": "figures built from the records, then ANALYZE of their two tables",
            "today": today.isoformat(),
        },
    }


async def _backlog(
    runtime: Runtime, client: httpx.AsyncClient, token: str, lab_id: str, urls: dict[str, str]
) -> list[dict[str, Any]]:
    """The first production-kpis read after ``n`` orders arrived and ``n`` shipped unread (the
    read catches up on all of them): how the cold read grows with the unread backlog."""
    out = []
    for n in BACKLOGS:
        shipped = 0
        for k in range(0, n, 250):
            shipped += await ship_some(runtime, lab_id, min(250, n - k), 10_000 + n + k)
        ms, _ = await _get(client, urls["production_kpis"], token)
        out.append({"orders_arrived": n, "orders_shipped": shipped, "read_ms": round(ms, 1)})
    return out


async def _lab_id(runtime: Runtime) -> str:
    async with runtime.db.connection() as conn:
        found = await conn.fetchval("SELECT id FROM tenants WHERE kind = 'lab' AND name = $1", LAB)
    return str(found)


async def _measure(
    runtime: Runtime,
    client: httpx.AsyncClient,
    token: str,
    lab_id: str,
    urls: dict[str, str],
    runs: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        n: {"first_read_ms": round((await _get(client, u, token))[0], 1)} for n, u in urls.items()
    }
    for name, url in urls.items():
        warm = [(await _get(client, url, token))[0] for _ in range(runs)]
        cold, shipped = [], 0
        for k in range(runs):
            shipped += await ship_some(runtime, lab_id, SHIP_BATCH, k)
            cold.append((await _get(client, url, token))[0])
        _, size = await _get(client, url, token)
        out[name] |= {"warm": _stats(warm), "cold_after_events": _stats(cold)}
        out[name] |= {"orders_shipped_between": shipped, "bytes": size}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="50,000 orders, 10 runs per route")
    parser.add_argument("--reuse", action="store_true", help="time the lab an earlier run loaded")
    parser.add_argument("--range", default="last30days", help="the range the routes are read for")
    args = parser.parse_args(argv)
    orders, runs = (50_000, 10) if args.quick else (args.orders, args.runs)
    print(json.dumps(asyncio.run(run(orders, runs, args.reuse, args.range)), default=str))


if __name__ == "__main__":
    main()
