"""Database statements of the write path: one single-event webhook and one order creation.

Counts every statement a request sends to PostgreSQL (asyncpg's query logger on the only pooled
connection), and how many of them run while the tenants' head locks are held (from the head
lock to COMMIT, both included): these serialise every writer of a lab's log, so they bound the
single-event webhook rate. ILS runs here in one process, where a webhook's movements reach the
live stations and their observers before it is answered (on Ray that happens after the answer,
in the background), so their statements count in. Deterministic (no timing); a scratch database
on ``ILS_DATABASE_URL`` or the embedded server is created and dropped here.

Run: ``python -m bench.write_round_trips [--quick]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import time
from typing import Any

import asyncpg

from bench.scratch import drop_prefix, with_database
from bench.webhooks import ORDER, PASSWORD
from ils.db.migrate import migrate
from ils.domain.access import Principal, Role, TenantKind
from ils.domain.order import OrderDraft
from ils.embedded import ensure_services
from ils.lims.signature import sign
from ils.runtime import Runtime
from ils.settings import Settings


def _counts(statements: list[str]) -> dict[str, int]:
    lock = next(i for i, q in enumerate(statements) if "tenant_heads" in q and "FOR UPDATE" in q)
    commit = next(i for i, q in enumerate(statements) if q.strip().upper().startswith("COMMIT"))
    return {"statements": len(statements), "head_lock_to_commit": commit - lock + 1}


#: The webhooks sent, in order: the job's acceptance; its first station movement, after which
#: the lab's live stations and models are loaded from the database (once per process); and a
#: second movement, which shows what every later webhook costs.
STEPS = (
    (1, "webhook job.accepted", None),
    (2, "webhook job.station_changed (first: loads the live stations)", "in_process"),
    (3, "webhook job.station_changed", "done"),
)


def _event(order_id: str, seq: int, status: str | None) -> bytes:
    data: dict[str, Any] = {"job_id": "J-1", "order_id": order_id, "sequence": seq}
    kind = "job.accepted" if status is None else "job.station_changed"
    if status is not None:
        data |= {"station": "surfacing", "status": status}
    body = {"id": f"evt_{seq}", "type": kind, "occurred_at": "2026-11-25T10:00:00Z", "data": data}
    return json.dumps(body).encode()


async def _measure(settings: Settings) -> dict[str, Any]:
    rt = await Runtime.open(settings)
    try:
        now = rt.clock()
        lab = await rt.identity.create_tenant(TenantKind.LAB, "L", "a@l.example", PASSWORD, now)
        pr = await rt.identity.create_tenant(TenantKind.PRACTICE, "P", "a@p.example", PASSWORD, now)
        await rt.identity.link(lab["tenant_id"], pr["tenant_id"], now)
        who = Principal(pr["admin_user_id"], pr["tenant_id"], TenantKind.PRACTICE, Role.ADMIN)
        log: list[str] = []
        async with rt.db.connection() as conn:
            conn.add_query_logger(lambda record: log.append(record.query))
        draft = OrderDraft.model_validate({**ORDER, "lab_id": lab["tenant_id"]})
        _, order = await rt.orders.create(who, draft, rt.clock())
        out: dict[str, Any] = {"orders.create": _counts(log)}
        key = lab["webhook_secret"].encode()
        for seq, name, status in STEPS:
            log.clear()
            body = _event(order["id"], seq, status)
            signature = sign(key, body, int(time.time()))
            await rt.lims_inbound.receive(lab["tenant_id"], body, signature, rt.clock())
            out[name] = _counts(log)
        return out
    finally:
        await rt.bus.delete_prefix("")
        await rt.close()


async def _run(settings: Settings) -> dict[str, Any]:
    name = f"ils_bench_rt_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(settings.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        scratch = settings.model_copy(
            update={
                "database_url": with_database(settings.database_url, name),
                "redis_prefix": f"ils-bench-{secrets.token_hex(4)}:",
                "db_pool_min": 1,
                "db_pool_max": 1,  # one connection: every statement passes the logger
            }
        )
        conn = await asyncpg.connect(scratch.database_url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        return await _measure(scratch)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await drop_prefix(scratch)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted; the run is already short")
    parser.parse_args(argv)
    settings, services = ensure_services(Settings())
    try:
        figures = asyncio.run(_run(settings))
    finally:
        services.stop()
    conditions = {"cores": os.cpu_count(), "pool": "one connection", "events": "one per request"}
    print(json.dumps({"bench": "write_round_trips", **figures, "conditions": conditions}))


if __name__ == "__main__":
    main()
