"""LIMS relay benchmark: how fast the outbox drains to a LIMS, order-to-LIMS latency, and how
long a backlog takes to clear after an outage.

The lab simulator runs as the LIMS on loopback (HTTP, real sockets); ILS's relay runs in-process
against PostgreSQL (``ILS_DATABASE_URL`` or the embedded server) in a scratch database created and
dropped here. Measured, in one run:
- backlog: N orders already in the outbox, drained by one relay (orders/s);
- latency: orders placed one by one while the relay runs (created -> LIMS accepted, p50/p99);
- outage: orders placed during a real 503 outage of the simulator; seconds from the outage's end
  until the last is accepted, and whether the LIMS saw any job twice.

Run: ``python -m bench.lims_relay [--quick]`` (or ``ils bench lims_relay``); last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import numpy as np

from bench.scratch import scratch_database
from ils.domain.access import Principal, Role, TenantKind
from ils.domain.order import OrderDraft
from ils.embedded import ensure_services
from ils.lims.backoff import Backoff
from ils.lims.breaker import BreakerPolicy
from ils.runtime import Runtime
from ils.services.lims import store_lims
from ils.services.relay import Relay, RelayPolicy
from ils.settings import Settings
from ils.sim.lims import LimsConfig
from ils.sim.serve import serve_lims

PASSWORD = "Bench-Relay-Phrase-52!"
KEY = "bench-lims-key-0001"
POLICY = RelayPolicy(
    breaker=BreakerPolicy(failure_threshold=3, open_s=1.0, probes=1),
    backoff=Backoff(base_s=0.2, cap_s=2.0),
    poll_s=0.05,
)
ORDER: dict[str, Any] = {
    "patient_ref": "P-1",
    "due_date": "2026-12-10",
    "rx": {
        "od": {
            "sphere": -2.25,
            "cylinder": -0.75,
            "axis": 180,
            "add": 2.0,
            "pd": 31.5,
            "seg_height": 18.0,
        },
        "os": {
            "sphere": -2.0,
            "cylinder": -0.5,
            "axis": 175,
            "add": 2.0,
            "pd": 32.0,
            "seg_height": 18.0,
        },
    },
    "lens": {"type": "progressive", "material": "1.60", "coatings": ["ar", "hard"]},
    "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
}


class Bench:
    def __init__(self, runtime: Runtime, practice: Principal, lab_id: str) -> None:
        self.runtime, self.practice, self.lab_id = runtime, practice, lab_id
        self.draft = OrderDraft.model_validate({**ORDER, "lab_id": lab_id})

    async def place(self, n: int) -> list[str]:
        ids = []
        for _ in range(n):
            _, view = await self.runtime.orders.create(
                self.practice, self.draft, self.runtime.clock()
            )
            ids.append(view["id"])
        return ids

    async def pending(self) -> int:
        async with self.runtime.db.connection() as conn:
            sql = "SELECT count(*) FROM outbox WHERE lab_id = $1 AND sent_at IS NULL"
            return int(await conn.fetchval(sql, self.lab_id))

    async def drained(self, timeout_s: float = 300) -> float:
        start = time.perf_counter()
        for _ in range(int(timeout_s / 0.02)):  # poll the database until the outbox is empty
            if not await self.pending():
                break
            await asyncio.sleep(0.02)
        return time.perf_counter() - start

    async def latencies_ms(self, ids: list[str]) -> list[float]:
        async with self.runtime.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT sent_to_lab_at - created_at AS d FROM orders WHERE id = ANY($1::uuid[])",
                ids,
            )
        return [r["d"].total_seconds() * 1000 for r in rows]


async def _measure(
    settings: Settings, backlog: int, singles: int, outage_s: float
) -> dict[str, Any]:
    runtime = await Runtime.open(settings)
    try:
        now = runtime.clock()
        lab = await runtime.identity.create_tenant(
            TenantKind.LAB, "Bench Lab", "a@bench-lab.example", PASSWORD, now
        )
        made = await runtime.identity.create_tenant(
            TenantKind.PRACTICE, "Bench Practice", "a@bench-pr.example", PASSWORD, now
        )
        await runtime.identity.link(lab["tenant_id"], made["tenant_id"], now)
        practice = Principal(
            made["admin_user_id"], made["tenant_id"], TenantKind.PRACTICE, Role.ADMIN
        )
        bench = Bench(runtime, practice, lab["tenant_id"])
        config = LimsConfig(
            ils_base_url="http://127.0.0.1:9",
            lab_tenant_id=lab["tenant_id"],
            webhook_secret="unused",
            api_key=KEY,
            port=0,
            speed=1.0,
            telemetry=False,
        )
        lims = await serve_lims(config)
        relay = Relay(runtime.db, runtime.publisher, settings, runtime.clock, POLICY)
        stop = asyncio.Event()
        try:
            await store_lims(runtime.db, settings, lab["tenant_id"], lims.url, KEY, None, now)
            await bench.place(backlog)
            running = asyncio.create_task(relay.run(stop))
            backlog_s = await bench.drained()
            ids = []
            for _ in range(singles):
                ids += await bench.place(1)
                await asyncio.sleep(0.1)
            await bench.drained()
            latency = np.asarray(await bench.latencies_ms(ids))
            lims.simulator.outage.start(outage_s, "503")
            await bench.place(backlog // 2)
            await asyncio.sleep(max(0.0, lims.simulator.outage.remaining()))
            catch_up_s = await bench.drained()
            stop.set()
            await running
            stats = lims.simulator.stats()
        finally:
            await relay.close()
            await lims.stop()
        await runtime.bus.delete_prefix("")
    finally:
        await runtime.close()
    total = backlog + singles + backlog // 2
    return {
        "backlog": {
            "orders": backlog,
            "seconds": round(backlog_s, 3),
            "orders_per_s": round(backlog / backlog_s, 1),
        },
        "latency_created_to_accepted": {
            "p50_ms": round(float(np.percentile(latency, 50)), 1),
            "p99_ms": round(float(np.percentile(latency, 99)), 1),
            "n": int(latency.size),
        },
        "outage": {
            "seconds": outage_s,
            "orders": backlog // 2,
            "catch_up_after_end_s": round(catch_up_s, 3),
        },
        "lims": {
            "jobs_accepted": stats["jobs_accepted"],
            "expected": total,
            "idempotent_replays": stats["idempotent_replays"],
        },
    }


async def _run(settings: Settings, backlog: int, singles: int, outage_s: float) -> dict[str, Any]:
    async with scratch_database(settings) as scratch:
        return await _measure(scratch, backlog, singles, outage_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer orders, a shorter outage")
    args = parser.parse_args(argv)
    backlog, singles, outage_s = (200, 30, 3.0) if args.quick else (1000, 100, 10.0)
    settings, services = ensure_services(Settings())
    try:
        figures = asyncio.run(_run(settings, backlog, singles, outage_s))
    finally:
        services.stop()
    result = {
        "bench": "lims_relay",
        **figures,
        "conditions": {
            "cores": os.cpu_count(),
            "lims": "lab simulator over loopback HTTP, speed 1x",
            "relay": {
                "poll_s": POLICY.poll_s,
                "batch": POLICY.batch,
                "breaker_open_s": POLICY.breaker.open_s,
            },
            "order_pacing_s": 0.1,
            "quick": args.quick,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
