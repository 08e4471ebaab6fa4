"""Telemetry: accepted readings by COPY, quarantined readings, reads by machine and time, retention.

Raw rows are one per (reading, metric). The retention rule (migration 0008): raw rows are kept for
``RAW_RETENTION_DAYS``; ``prune`` rolls their hours up into ``telemetry_hourly`` and deletes them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from ils.db.database import Conn

#: Raw rows are kept this long by default: the failure model trains on them (its features need
#: the raw readings, not hourly aggregates).
RAW_RETENTION_DAYS = 90
COPY_COLUMNS = ("lab_id", "equipment_id", "metric", "at", "value")
INSERT_QUARANTINE = """
INSERT INTO telemetry_quarantine (lab_id, equipment_id, at, code, detail, reading, received_at)
SELECT $1, q.equipment_id, q.at, q.code, q.detail, q.reading::jsonb, $7
FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
    AS q(equipment_id, at, code, detail, reading)
"""
#: Readings per machine, pivoted (one row per reading time), since a time, oldest first.
SELECT_READINGS = """
SELECT equipment_id, extract(epoch FROM at)::float8 AS at, array_agg(metric) AS metrics,
       array_agg(value) AS vals
FROM telemetry WHERE lab_id = $1 AND at >= $2
GROUP BY equipment_id, at ORDER BY equipment_id, at
"""
SELECT_MACHINE_READINGS = """
SELECT equipment_id, extract(epoch FROM at)::float8 AS at, array_agg(metric) AS metrics,
       array_agg(value) AS vals
FROM telemetry WHERE lab_id = $1 AND equipment_id = $2 AND at >= $3
GROUP BY equipment_id, at ORDER BY at
"""
SELECT_LATEST = "SELECT max(at) FROM telemetry WHERE lab_id = $1"
PRUNE = "SELECT prune_telemetry($1, $2)"
SELECT_HOURLY = """
SELECT equipment_id, metric, hour, n, mean, min, max, stddev FROM telemetry_hourly
WHERE lab_id = $1 AND equipment_id = $2 AND hour >= $3 ORDER BY metric, hour
"""


async def copy_readings(conn: Conn, lab_id: str, readings: Sequence[dict[str, Any]]) -> int:
    """COPY accepted readings (``{"equipment_id", "at": datetime, "metrics"}``); rows written."""
    lab = uuid.UUID(lab_id)
    records = [
        (lab, r["equipment_id"], name, r["at"], float(value))
        for r in readings
        for name, value in r["metrics"].items()
    ]
    if records:
        await conn.copy_records_to_table("telemetry", records=records, columns=COPY_COLUMNS)
    return len(records)


async def quarantine(
    conn: Conn, lab_id: str, held: Sequence[dict[str, Any]], now: datetime
) -> None:
    """``held``: ``{"equipment_id", "at", "code", "detail", "reading"}`` per quarantined reading."""
    if not held:
        return
    await conn.execute(
        INSERT_QUARANTINE,
        lab_id,
        [h["equipment_id"] for h in held],
        [h["at"] for h in held],
        [h["code"] for h in held],
        [h["detail"] for h in held],
        [json.dumps(h["reading"], default=str) for h in held],
        now,
    )


def _pivot(rows: Sequence[Any]) -> dict[str, list[tuple[float, dict[str, float]]]]:
    out: dict[str, list[tuple[float, dict[str, float]]]] = {}
    for r in rows:
        metrics = dict(zip(r["metrics"], r["vals"], strict=True))
        out.setdefault(r["equipment_id"], []).append((float(r["at"]), metrics))
    return out


async def readings_since(
    conn: Conn, lab_id: str, since: datetime, equipment_id: str | None = None
) -> dict[str, list[tuple[float, dict[str, float]]]]:
    """Per machine: (epoch s, {metric: value}) readings since ``since``, oldest first."""
    if equipment_id is None:
        rows = await conn.fetch(SELECT_READINGS, lab_id, since)
    else:
        rows = await conn.fetch(SELECT_MACHINE_READINGS, lab_id, equipment_id, since)
    return _pivot(rows)


def as_arrays(
    readings: Sequence[tuple[float, dict[str, float]]], metrics: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(times, values[i, j] = metrics[j] at times[i], NaN where missing)."""
    times = np.array([t for t, _ in readings], dtype=float)
    values = np.array([[m.get(k, np.nan) for k in metrics] for _, m in readings], dtype=float)
    return times, values.reshape(len(readings), len(metrics))


async def latest(conn: Conn, lab_id: str) -> datetime | None:
    value: datetime | None = await conn.fetchval(SELECT_LATEST, lab_id)
    return value


async def prune(conn: Conn, keep_days: int, now: datetime) -> int:
    """Apply the retention rule to every lab; returns the raw rows deleted."""
    return int(await conn.fetchval(PRUNE, keep_days, now))


async def hourly(
    conn: Conn, lab_id: str, equipment_id: str, since: datetime
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_HOURLY, lab_id, equipment_id, since)]
