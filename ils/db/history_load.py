"""Bulk-load a generated lab history (``ils.sim.history``) into PostgreSQL with binary COPY.

For benchmarks and demos at scale: a lab with a million orders loads in minutes, not hours. The
rows are what the live path would have written: orders (status from what happened to them), the
lab's ``order.created`` and ``order.status_changed`` (shipped / cancelled) events with dense
``seq``, LIMS breakages, remake issues, and, for the last ``detail_days`` only (what the KPI
windows read), LIMS inspections and the station history (in_process / done per visit).

It opens its own connection without the pool's JSON codecs: binary COPY takes JSON text as is.
The rollups are NOT written here (the live path adds them per event); a caller that needs them
computes them from the same history (see ``bench/dashboard.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from ils.sim.history import VOCABULARY, History

ORDER_COLUMNS = (
    "id", "order_number", "practice_id", "lab_id", "status", "patient_ref", "due_date",
    "priority", "rx", "rx_minus_cyl", "lens", "warnings", "remake_of", "lims_job_id",
    "created_at", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = ("tenant_id", "seq", "type", "order_id", "topic", "payload", "occurred_at")
REMAKE_ISSUE = {
    "lab_error": ("return", "lab_error"),
    "practice_change": ("return", "practice_change"),
    "warranty": ("return", "warranty"),
    "non_adapt": ("non_adapt", "non_adapt"),
}
DUE_DAYS = 5


@dataclass(frozen=True)
class LoadTarget:
    lab_id: str
    practice_id: str
    seed: int
    detail_days: int = 35


def _stamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def order_ids(n: int, seed: int) -> list[uuid.UUID]:
    """Deterministic version-4 UUIDs, one per generated order number."""
    raw = np.random.default_rng(seed).bytes(16 * n)
    return [uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4) for i in range(n)]


def _rx(sphere: float, cylinder: float, add: float) -> str:
    eye = {"sphere": sphere, "cylinder": cylinder, "axis": 90 if cylinder else None}
    if add:
        eye["add"] = add
    return json.dumps({"od": eye, "os": eye})


def _status(cancelled: bool, shipped: int, delivered: int) -> str:
    if cancelled:
        return "cancelled"
    if delivered >= 0:
        return "completed"
    return "shipped" if shipped >= 0 else "in_production"


def order_records(h: History, t: LoadTarget, ids: list[uuid.UUID]) -> Iterator[tuple[Any, ...]]:
    o = h.tables["orders"]
    types, materials = VOCABULARY["lens_type"], VOCABULARY["material"]
    for i in range(h.size("orders")):
        created = _stamp(o["created_at"][i])
        sph, cyl, add = float(o["sphere"][i]), float(o["cylinder"][i]), float(o["add"][i])
        rx = _rx(sph, cyl, add)
        lens = json.dumps(
            {"type": types[o["lens_type"][i]], "material": materials[o["material"][i]]}
        )
        remake_of = ids[o["remake_of"][i]] if o["remake_of"][i] >= 0 else None
        status = _status(bool(o["cancelled"][i]), o["shipped_at"][i], o["delivered_at"][i])
        yield (
            ids[i], f"PO-H-{i:07d}", t.practice_id, t.lab_id, status, f"P-{i}",
            (created + timedelta(days=DUE_DAYS)).date(), "standard", rx, rx, lens, "[]",
            remake_of, f"J-{i}", created, created,
        )  # fmt: skip


def event_records(h: History, t: LoadTarget, ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """The lab's log, in time order with dense seq from 1."""
    o = h.tables["orders"]
    raw: list[tuple[int, int, str, str]] = []
    for i in range(h.size("orders")):
        created = int(o["created_at"][i])
        raw.append((created, i, "order.created", "{}"))
        stamp = _stamp(created).isoformat()
        if o["cancelled"][i]:
            raw.append((created + 3600, i, "order.status_changed", _change("cancelled", stamp)))
        elif o["shipped_at"][i] >= 0:
            raw.append(
                (int(o["shipped_at"][i]), i, "order.status_changed", _change("shipped", stamp))
            )
    raw.sort(key=lambda r: (r[0], r[1]))
    return [
        (t.lab_id, seq, kind, ids[i], "orders", payload, _stamp(at))
        for seq, (at, i, kind, payload) in enumerate(raw, start=1)
    ]


def _change(to: str, created_at: str) -> str:
    return json.dumps({"to": to, "order": {"created_at": created_at}})


def breakage_records(h: History, t: LoadTarget, ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    b = h.tables["breakages"]
    stations, reasons = VOCABULARY["station"], VOCABULARY["reason"]
    return [
        (
            uuid.UUID(int=(t.seed << 64) + k),
            t.lab_id,
            ids[b["order_no"][k]],
            f"J-{b['order_no'][k]}",
            f"hist-b-{k}",
            stations[b["station"][k]],
            reasons[b["reason"][k]],
            None,
            stations[b["restart_station"][k]],
            _stamp(b["at"][k]),
        )
        for k in range(len(b["at"]))
    ]


def issue_records(h: History, t: LoadTarget, ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    o = h.tables["orders"]
    categories = VOCABULARY["remake_category"]
    rows = []
    for i in np.flatnonzero(o["remake_of"] >= 0):
        kind, category = REMAKE_ISSUE[categories[o["remake_category"][i]]]
        created = _stamp(o["created_at"][i])
        rows.append(
            (
                uuid.UUID(int=(t.seed << 64) + (1 << 62) + int(i)),
                ids[o["remake_of"][i]],
                t.practice_id,
                t.lab_id,
                kind,
                category,
                "generated history",
                "[]",
                None,
                True,
                ids[i],
                None,
                created,
            )
        )
    return rows


def inspection_records(
    h: History, t: LoadTarget, ids: list[uuid.UUID], since_s: int
) -> list[tuple[Any, ...]]:
    s = h.tables["inspections"]
    keep = np.flatnonzero(s["at"] >= since_s)
    return [
        (
            uuid.UUID(int=(t.seed << 64) + (2 << 61) + int(k)),
            t.lab_id,
            ids[s["order_no"][k]],
            f"J-{s['order_no'][k]}",
            f"hist-i-{k}",
            "{}",
            bool(s["passed"][k]),
            bool(s["passed"][k]),
            None,
            _stamp(s["at"][k]),
        )
        for k in keep
    ]


def movement_records(h: History, t: LoadTarget, since_s: int) -> list[tuple[Any, ...]]:
    v = h.tables["visits"]
    stations = VOCABULARY["station"]
    keep = np.flatnonzero((v["started_at"] >= since_s) & (v["ended_at"] >= 0))
    rows = []
    for k in keep:
        job, station = f"J-{v['order_no'][k]}", stations[v["station"][k]]
        started, ended = int(v["started_at"][k]), int(v["ended_at"][k])
        rows.append((t.lab_id, station, job, "in_process", 2 * int(k), _stamp(started)))
        rows.append((t.lab_id, station, job, "done", 2 * int(k) + 1, _stamp(ended)))
    return rows


MOVEMENT_COLUMNS = ("lab_id", "station", "job_id", "status", "sequence", "occurred_at")
BREAKAGE_COLUMNS = (
    "id", "lab_id", "order_id", "job_id", "event_id", "station", "reason_code", "shift",
    "restart_station", "occurred_at",
)  # fmt: skip
ISSUE_COLUMNS = (
    "id", "order_id", "practice_id", "lab_id", "kind", "category", "reason", "symptoms", "notes",
    "within_warranty", "remake_order_id", "created_by", "created_at",
)  # fmt: skip
INSPECTION_COLUMNS = (
    "id", "lab_id", "order_id", "job_id", "event_id", "measured", "lims_pass", "ils_pass",
    "verdict", "occurred_at",
)  # fmt: skip
SET_HEAD = "UPDATE tenant_heads SET last_seq = $2 WHERE tenant_id = $1"


async def load(dsn: str, history: History, target: LoadTarget) -> dict[str, int]:
    """COPY the history into the lab's tables; returns the rows written per table."""
    ids = order_ids(history.size("orders"), target.seed)
    end = datetime.combine(history.start, datetime.min.time(), UTC)
    end += timedelta(days=history.days)
    since_s = int((end - timedelta(days=target.detail_days)).timestamp())
    counts: dict[str, int] = {}
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            orders = list(order_records(history, target, ids))
            await conn.copy_records_to_table("orders", records=orders, columns=ORDER_COLUMNS)
            counts["orders"] = len(orders)
            del orders
            log = event_records(history, target, ids)
            await conn.copy_records_to_table("events", records=log, columns=EVENT_COLUMNS)
            await conn.execute(SET_HEAD, target.lab_id, len(log))
            counts["events"] = len(log)
            del log
            counts |= await _details(conn, history, target, ids, since_s)
    finally:
        await conn.close()
    return counts


async def _details(
    conn: asyncpg.Connection,
    history: History,
    target: LoadTarget,
    ids: list[uuid.UUID],
    since_s: int,
) -> dict[str, int]:
    tables = {
        "breakages": (breakage_records(history, target, ids), BREAKAGE_COLUMNS),
        "order_issues": (issue_records(history, target, ids), ISSUE_COLUMNS),
        "lims_inspections": (
            inspection_records(history, target, ids, since_s),
            INSPECTION_COLUMNS,
        ),
        "station_movements": (movement_records(history, target, since_s), MOVEMENT_COLUMNS),
    }
    counts = {}
    for table, (records, columns) in tables.items():
        await conn.copy_records_to_table(table, records=records, columns=columns)
        counts[table] = len(records)
    return counts


def history_end(history: History) -> date:
    """The first day after the history (its ``today`` is the day before)."""
    return history.start + timedelta(days=history.days)


ROLLUP_COLUMNS = ("tenant_id", "metric", "granularity", "bucket_start", "amount")


async def load_rollups(dsn: str, rows: list[tuple[Any, ...]]) -> int:
    """COPY precomputed rollup buckets (tenant, metric, granularity, bucket_start, amount)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("rollups", records=rows, columns=ROLLUP_COLUMNS)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return len(rows)


async def fresh_database(admin_dsn: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``admin_dsn``; return its DSN."""
    if not name.replace("_", "").isalnum():
        raise ValueError("a database name is letters, digits and underscores")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # names cannot be parameters
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}"
