"""`ils bench validation`: order validation in-process and over HTTP beside a bare Serve ping.

Measures, in one run on this machine:
- in-process: pydantic parse + every Rx rule (`validate_order`) per draft, p50/p99;
- over HTTP through Ray Serve: `POST /api/orders/validate` (token-authenticated) and `GET /healthz`
  (no auth, no database: the bare ping of the same deployment), interleaved, p50/p99.
Runs against embedded PostgreSQL and Redis in a temporary directory. Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scratch import free_port


def _drafts(n: int, rng: np.random.Generator, lab_id: str) -> list[dict[str, Any]]:
    """Realistic, mostly valid drafts with varied powers (the API.md example as a template)."""
    out = []
    for _ in range(n):
        sph = float(rng.integers(-24, 17)) * 0.25
        cyl = float(rng.integers(-12, 1)) * 0.25
        axis = int(rng.integers(1, 181)) if cyl else None
        add = float(rng.integers(4, 13)) * 0.25
        eye = {
            "sphere": sph,
            "cylinder": cyl,
            "axis": axis,
            "add": add,
            "pd": 31.5,
            "seg_height": 18.0,
        }
        out.append(
            {
                "lab_id": lab_id,
                "patient_ref": "P-1",
                "due_date": "2026-12-10",
                "rx": {"od": dict(eye), "os": {**eye, "pd": 32.0}},
                "lens": {"type": "progressive", "material": "1.67", "coatings": ["ar", "hard"]},
                "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
            }
        )
    return out


def _pcts(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples)
    return {
        "p50": round(float(np.percentile(arr, 50)), 4),
        "p99": round(float(np.percentile(arr, 99)), 4),
        "n": len(samples),
    }


def in_process(drafts: list[dict[str, Any]]) -> dict[str, float]:
    from ils.domain.order import OrderDraft
    from ils.domain.validation import validate_order

    times = []
    for body in drafts:
        start = time.perf_counter_ns()
        validate_order(OrderDraft.model_validate(body))
        times.append((time.perf_counter_ns() - start) / 1e6)
    return _pcts(times)


async def _tenants(settings: Any) -> tuple[str, str, str]:
    from ils.db.database import Database
    from ils.db.migrate import migrate
    from ils.domain.access import TenantKind
    from ils.services.identity import Identity
    from ils.services.ports import utc_now

    db = await Database.connect(settings, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            await migrate(conn)
        identity = Identity(db, settings)
        lab = await identity.create_tenant(
            TenantKind.LAB, "Bench Lab", "lab@bench.example", "Bench-Password-1!", utc_now()
        )
        practice = await identity.create_tenant(
            TenantKind.PRACTICE,
            "Bench Practice",
            "practice@bench.example",
            "Bench-Password-1!",
            utc_now(),
        )
        await identity.link(lab["tenant_id"], practice["tenant_id"], utc_now())
        return lab["tenant_id"], "practice@bench.example", "Bench-Password-1!"
    finally:
        await db.close()


def over_http(settings: Any, requests: int, rng: np.random.Generator) -> dict[str, Any]:
    import httpx
    import ray
    from ray import serve

    from actors.deploy import deploy
    from actors.tuning import apply_serve_tuning

    tuning = apply_serve_tuning()
    lab_id, email, password = asyncio.run(_tenants(settings))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        port = free_port()
        deploy(settings, "127.0.0.1", port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            token = client.post(
                "/api/auth/login", json={"email": email, "password": password}
            ).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            drafts = _drafts(requests, rng, lab_id)
            for body in drafts[:50]:  # warm-up: connection pools, JIT-free but caches
                client.get("/healthz")
                client.post("/api/orders/validate", json=body, headers=auth)
            ping, validate = [], []
            for body in drafts:
                start = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                ping.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                assert (
                    client.post("/api/orders/validate", json=body, headers=auth).status_code == 200
                )
                validate.append((time.perf_counter() - start) * 1000)
        return {"ping_ms": _pcts(ping), "validate_ms": _pcts(validate), "serve_tuning": tuning}
    finally:
        serve.shutdown()
        ray.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    from ils.embedded import ensure_services
    from ils.settings import Settings

    rng = np.random.default_rng(args.seed)
    drafts = _drafts(2000 if args.quick else 20000, rng, "2b0f6c1e-5a6b-4c1d-9e8f-0a1b2c3d4e5f")
    local = in_process(drafts)
    data_dir = Path(tempfile.mkdtemp(prefix="ils-bench-"))
    settings, services = ensure_services(Settings(data_dir=data_dir, database_url="", redis_url=""))
    try:
        http = over_http(settings, 300 if args.quick else 2000, rng)
    finally:
        services.stop()
    result = {
        "bench": "validation",
        "in_process_ms": local,
        "http": http,
        "http_p99_ratio_validate_to_ping": round(
            http["validate_ms"]["p99"] / http["ping_ms"]["p99"], 3
        ),
        "goals": {"in_process_p99_ms": 5.0, "http_p99_ratio_max": 2.0},
        "conditions": {
            "cores": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "seed": args.seed,
            "quick": args.quick,
            "client": "httpx sync, keep-alive, sequential, same machine",
            "auth": "validate carries a bearer token checked against PostgreSQL",
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
