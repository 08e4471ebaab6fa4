"""Sampled station state (station_samples, pruned to a retention window) and each lab's constraint
and recommendation (lab_bottlenecks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db.database import Conn

INSERT_SAMPLES = """
INSERT INTO station_samples
    (lab_id, at, station, queue, in_process, capacity, arrived, service_mean_min)
SELECT $1, $2, s.station, s.queue, s.in_process, s.capacity, s.arrived, s.service_mean_min
FROM unnest($3::text[], $4::int[], $5::int[], $6::int[], $7::bigint[], $8::float8[])
    AS s(station, queue, in_process, capacity, arrived, service_mean_min)
ON CONFLICT (lab_id, at, station) DO NOTHING
"""
#: The samples of the look-back before a lab's latest sample, oldest first.
SELECT_RECENT_SAMPLES = """
SELECT at, station, queue, in_process, capacity, arrived, service_mean_min FROM station_samples
WHERE lab_id = $1
  AND at >= (SELECT max(at) FROM station_samples WHERE lab_id = $1) - make_interval(secs => $2)
ORDER BY at, station
"""
#: Busy and staffed server-samples per bucket, per station and lab-wide (station null).
SELECT_UTILIZATION = """
SELECT bucket, station, sum(least(in_process, capacity))::float8 AS busy,
       sum(capacity)::float8 AS capacity, count(*) AS samples
FROM (SELECT date_bin(make_interval(secs => $4), at, $2) AS bucket, station, in_process, capacity
      FROM station_samples WHERE lab_id = $1 AND at >= $2 AND at < $3) AS s
GROUP BY GROUPING SETS ((bucket, station), (bucket))
ORDER BY bucket, station NULLS FIRST
"""
SELECT_BOTTLENECK = """
SELECT station, since, confidence, evidence, detected_at, recommendation, recommended_at
FROM lab_bottlenecks WHERE lab_id = $1
"""
UPSERT_DETECTION = """
INSERT INTO lab_bottlenecks (lab_id, station, since, confidence, evidence, detected_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (lab_id) DO UPDATE SET station = EXCLUDED.station, since = EXCLUDED.since,
    confidence = EXCLUDED.confidence, evidence = EXCLUDED.evidence,
    detected_at = EXCLUDED.detected_at
"""
UPSERT_RECOMMENDATION = """
INSERT INTO lab_bottlenecks
    (lab_id, confidence, evidence, detected_at, recommendation, recommended_at)
VALUES ($1, 0, '{}'::jsonb, $3, $2, $3)
ON CONFLICT (lab_id) DO UPDATE SET recommendation = EXCLUDED.recommendation,
    recommended_at = EXCLUDED.recommended_at
"""
#: Retention of station samples: a lab's samples older than a cutoff (the primary key's
#: (lab_id, at) prefix finds them).
DELETE_OLD_SAMPLES = """
DELETE FROM station_samples WHERE lab_id = $1 AND at < $2
"""
SAMPLE_KEYS = ("station", "queue", "in_process", "capacity", "arrived", "service_mean_min")


async def insert_samples(
    conn: Conn, lab_id: str, at: datetime, samples: list[dict[str, Any]]
) -> None:
    if samples:
        columns = [[s[k] for s in samples] for k in SAMPLE_KEYS]
        await conn.execute(INSERT_SAMPLES, lab_id, at, *columns)


async def prune_samples(conn: Conn, lab_id: str, before: datetime) -> int:
    """Delete the lab's samples taken before ``before``; returns how many went."""
    status = await conn.execute(DELETE_OLD_SAMPLES, lab_id, before)
    return int(status.split()[-1])


async def recent_samples(conn: Conn, lab_id: str, lookback_s: float) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_RECENT_SAMPLES, lab_id, lookback_s)]


async def utilization(
    conn: Conn, lab_id: str, start: datetime, end: datetime, bucket_s: float
) -> list[dict[str, Any]]:
    rows = await conn.fetch(SELECT_UTILIZATION, lab_id, start, end, bucket_s)
    return [dict(r) for r in rows]


async def bottleneck(conn: Conn, lab_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_BOTTLENECK, lab_id)
    return dict(row) if row else None


async def save_detection(
    conn: Conn,
    lab_id: str,
    station: str | None,
    since: datetime | None,
    confidence: float,
    evidence: dict[str, Any],
    detected_at: datetime,
) -> None:
    await conn.execute(UPSERT_DETECTION, lab_id, station, since, confidence, evidence, detected_at)


async def save_recommendation(
    conn: Conn, lab_id: str, recommendation: dict[str, Any], at: datetime
) -> None:
    await conn.execute(UPSERT_RECOMMENDATION, lab_id, recommendation, at)
