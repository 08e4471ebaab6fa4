"""Latency of the metrics routes on a lab with a large generated history.

Run: ``python -m bench.dashboard [--orders N] [--quick] [--runs R]`` (or ``ils bench dashboard``).

1. Generates a year of history offline (``ils.sim.history.generate_history``, seeded), about
   ``--orders`` orders with their remakes, into a fresh database ``ils_bench_dashboard`` on the
   server of ``ILS_BENCH_DATABASE_URL`` (default: the local PostgreSQL), migrated, with a real lab
   and practice tenant, by binary COPY (``ils.db.history_load``). Rollup buckets are computed from
   the same history with pandas (same bucket rules as ``ils.analytics.rollup``) and copied in.
2. Sets a cost model and price list through ``PUT /api/metrics/cost-model``.
3. Times every metrics route through the ASGI app in-process (httpx, no network; real PostgreSQL
   and Redis), ``--runs`` calls each after two warm-up calls (the first is reported too), and
   reports p50/p99 in ms; then again for the two computed reports with their cache disabled.

Prints ONE JSON object on its last line with the figures and the conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from ils.api.app import create_app
from ils.db import history_load
from ils.domain.access import TenantKind
from ils.domain.station import Station
from ils.runtime import Runtime
from ils.services.report_cache import ReportCache
from ils.settings import Settings
from ils.sim.history import MATERIALS, History, generate_history
from ils.sim.job import LENS_TYPES

SEED = 20261125
START = date(2025, 1, 1)
DAYS = 365
REMAKE_SHARE = 0.08  # generate_history adds about 8% remakes on top of per_day
PASSWORD = "Bench-Password-42!"
DB_NAME = "ils_bench_dashboard"


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
        TenantKind.LAB, "Bench Lab", "admin@bench-lab.example", PASSWORD, now
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


def routes(today: date) -> dict[str, str]:
    first = (today - timedelta(days=89)).isoformat()
    return {
        "dashboard": "/api/metrics/dashboard?range=last30days",
        "production_kpis": "/api/metrics/production-kpis?range=last30days",
        "cost_analysis": "/api/metrics/cost-analysis?range=last30days",
        "revenue": "/api/metrics/revenue?range=last30days",
        "series": f"/api/analytics/series?metric=orders_created&granularity=day&from={first}",
    }


async def _time(client: httpx.AsyncClient, url: str, token: str, runs: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    began = time.perf_counter()
    (await client.get(url, headers=headers)).raise_for_status()
    first_ms = (time.perf_counter() - began) * 1000
    (await client.get(url, headers=headers)).raise_for_status()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(url, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 1),
        "p99_ms": round(float(np.percentile(samples, 99)), 1),
        "max_ms": round(max(samples), 1),
        "first_call_ms": round(first_ms, 1),
        "runs": runs,
        "bytes": len(response.content),
    }


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


async def run(orders: int, runs: int, reuse: bool) -> dict[str, Any]:
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
            latency = {n: await _time(client, u, token, runs) for n, u in routes(today).items()}
            runtime.metrics.cache = ReportCache(capacity=0)  # every call recomputes
            uncached = {
                n: await _time(client, routes(today)[n], token, max(3, runs // 4))
                for n in ("production_kpis", "cost_analysis", "revenue")
            }
    finally:
        await runtime.close()
    return {
        "bench": "dashboard",
        "latency": latency,
        "latency_uncached": uncached,
        "cache": "production-kpis, cost-analysis and revenue are cached per (lab, period, cost "
        "model, day) while the lab's log is unchanged or for 30 s after; latency_uncached "
        "recomputes on every call",
        "goal_p99_ms": 200,
        "load": load,
        "conditions": {
            "orders_requested": orders,
            "orders_loaded": load["rows"]["orders"],
            "history_days": DAYS,
            "detail_days": history_load.LoadTarget("", "", SEED).detail_days,
            "seed": SEED,
            "cores": os.cpu_count(),
            "transport": "httpx ASGI in-process; PostgreSQL and Redis local",
            "today": today.isoformat(),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="50,000 orders, 10 runs per route")
    parser.add_argument("--reuse", action="store_true", help="time the lab an earlier run loaded")
    args = parser.parse_args(argv)
    orders, runs = (50_000, 10) if args.quick else (args.orders, args.runs)
    print(json.dumps(asyncio.run(run(orders, runs, args.reuse))))


if __name__ == "__main__":
    main()
