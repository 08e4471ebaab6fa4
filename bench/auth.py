"""Authentication benchmark: login latency with the real argon2id parameters, and the overhead of
token authentication on a request compared with an unauthenticated route, in one run.

The API runs in-process (httpx over ASGI, no network) against PostgreSQL and Redis: the
configured ``ILS_DATABASE_URL`` / ``ILS_REDIS_URL`` or the embedded servers. The benchmark works
in a scratch database (created and dropped here) and its own Redis key prefix. Measured:
- ``POST /api/auth/login`` end to end (argon2id verify dominates; parameters reported);
- ``GET /api/me`` with a bearer token (session lookup by token hash + the route) versus
  ``GET /healthz`` (no authentication), interleaved so both see the same machine load.

Run: ``python -m bench.auth [--quick]`` (or ``ils bench auth``); the last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import httpx
import numpy as np

from bench.scratch import scratch_database
from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.embedded import ensure_services
from ils.runtime import Runtime
from ils.settings import Settings

PASSWORD = "Bench-Marked-Phrase-71!"


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "n": len(samples_s),
    }


async def _timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> float:
    start = time.perf_counter()
    response = await client.request(method, url, **kwargs)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url} answered {response.status_code}: {response.text}")
    return elapsed


async def _measure(settings: Settings, logins: int, requests: int) -> dict[str, Any]:
    runtime = await Runtime.open(settings)
    try:
        await runtime.identity.create_tenant(
            TenantKind.PRACTICE, "Bench Optics", "admin@bench.example", PASSWORD, runtime.clock()
        )
        app = create_app(settings, runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            body = {"email": "admin@bench.example", "password": PASSWORD}
            await _timed(client, "POST", "/api/auth/login", json=body)  # warm-up
            login_s = [
                await _timed(client, "POST", "/api/auth/login", json=body) for _ in range(logins)
            ]
            token = (await client.post("/api/auth/login", json=body)).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            for _ in range(50):  # warm the pool and the route code
                await _timed(client, "GET", "/api/me", headers=auth)
                await _timed(client, "GET", "/healthz")
            authed, open_ = [], []
            for _ in range(requests):
                authed.append(await _timed(client, "GET", "/api/me", headers=auth))
                open_.append(await _timed(client, "GET", "/healthz"))
        await runtime.bus.delete_prefix("")
    finally:
        await runtime.close()
    me, health = _percentiles(authed), _percentiles(open_)
    return {
        "login": _percentiles(login_s),
        "authenticated_me": me,
        "unauthenticated_healthz": health,
        "auth_overhead": {
            "p50_ms": round(me["p50_ms"] - health["p50_ms"], 3),
            "p99_ms": round(me["p99_ms"] - health["p99_ms"], 3),
        },
    }


async def _run(settings: Settings, logins: int, requests: int) -> dict[str, Any]:
    async with scratch_database(settings) as scratch:
        return await _measure(scratch, logins, requests)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer logins and requests")
    args = parser.parse_args(argv)
    logins, requests = (8, 300) if args.quick else (40, 2000)
    base = Settings()
    settings, services = ensure_services(base)
    try:
        figures = asyncio.run(_run(settings, logins, requests))
    finally:
        services.stop()
    result = {
        "bench": "auth",
        **figures,
        "conditions": {
            "argon2id": {
                "time_cost": settings.argon2_time_cost,
                "memory_kib": settings.argon2_memory_kib,
                "parallelism": settings.argon2_parallelism,
            },
            "logins": logins,
            "requests_per_route": requests,
            "transport": "in-process ASGI (httpx), sequential requests",
            "cores": os.cpu_count(),
            "quick": args.quick,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
