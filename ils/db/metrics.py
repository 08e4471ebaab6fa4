"""What the engineering KPIs and the cost analysis read: a lab's jobs and what became of them.

A job's facts come from the tenant's own records: the order (lens, dates, remake link), the
first ``order.status_changed`` to ``shipped`` / ``cancelled`` in the lab's log, the first
inspection (ILS's verdict; a LIMS inspection's ILS verdict, else the LIMS's pass), the LIMS
breakages, the remake orders and their issue category, the non-adapt issues, and the labour
booked at each station (``in_process`` -> ``done`` in the LIMS station history, via the job id).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ils.db.database import Conn

#: What became of each order ``o`` of the lab ``$1``: its first shipping and cancelling in the lab's
#: log (``s``), its first inspection's pass (``fp``: ILS's verdict, else the LIMS's), its LIMS
#: breakages (``bk``), its first remake's category (``rm``) and whether it was a non-adapt (``na``).
OUTCOME_JOINS = """
LEFT JOIN LATERAL (
    SELECT min(occurred_at) FILTER (WHERE (payload ->> 'to') = 'shipped') AS shipped_at,
           min(occurred_at) FILTER (WHERE (payload ->> 'to') = 'cancelled') AS cancelled_at
    FROM events e
    WHERE e.order_id = o.id AND e.tenant_id = $1 AND e.type = 'order.status_changed'
) s ON true
LEFT JOIN LATERAL (
    SELECT i.pass FROM (
        SELECT q.pass, q.inspected_at AS at FROM qc_inspections q WHERE q.order_id = o.id
        UNION ALL
        SELECT coalesce(l.ils_pass, l.lims_pass), l.occurred_at FROM lims_inspections l
        WHERE l.order_id = o.id
    ) i ORDER BY i.at LIMIT 1
) fp ON true
LEFT JOIN LATERAL (
    SELECT array_agg(ARRAY[b.station, b.reason_code, b.restart_station]
                     ORDER BY b.occurred_at, b.id) AS breakages
    FROM breakages b WHERE b.order_id = o.id
) bk ON true
LEFT JOIN LATERAL (
    SELECT coalesce(
        (SELECT i.category FROM order_issues i WHERE i.remake_order_id = r.id LIMIT 1),
        'unspecified') AS category
    FROM orders r WHERE r.remake_of = o.id ORDER BY r.created_at, r.id LIMIT 1
) rm ON true
LEFT JOIN LATERAL (
    SELECT bool_or(i.kind = 'non_adapt') AS non_adapt FROM order_issues i WHERE i.order_id = o.id
) na ON true
"""
COHORT_CTE = """
WITH cohort AS (
    SELECT order_id AS id FROM events
    WHERE tenant_id = $1 AND type = 'order.status_changed' AND (payload ->> 'to') = 'shipped'
      AND occurred_at >= $2 AND occurred_at < $3
    UNION
    SELECT id FROM orders WHERE lab_id = $1 AND due_date >= $4 AND due_date < $5
    UNION
    SELECT id FROM orders WHERE lab_id = $1 AND created_at <= $6
      AND status IN ('pending', 'in_production', 'quality_check', 'on_hold')
    UNION
    SELECT order_id FROM events
    WHERE tenant_id = $1 AND type = 'order.status_changed' AND (payload ->> 'to') = 'shipped'
      AND occurred_at > $6
)
"""
SELECT_JOBS = (
    COHORT_CTE
    + """
SELECT o.id, o.practice_id, o.lims_job_id, o.lens ->> 'type' AS lens_type,
       o.lens ->> 'design' AS design, o.lens ->> 'material' AS material, o.created_at,
       o.due_date, o.remake_of, s.shipped_at, s.cancelled_at, fp.pass AS first_pass,
       bk.breakages, rm.category AS remake_category, coalesce(na.non_adapt, false) AS non_adapt
FROM orders o
"""
    + OUTCOME_JOINS
    + """WHERE o.id = ANY(ARRAY(SELECT id FROM cohort)) AND o.lab_id = $1
"""
)
# A visit is an ``in_process`` row and the ``done`` row after it; a station with as many of each
# books the sum of (done - in_process) times, whatever the pairing (no window, one pass).
SELECT_LABOUR = """
SELECT job_id, json_object_agg(station, minutes) AS minutes FROM (
    SELECT job_id, station,
           sum(CASE WHEN status = 'done' THEN 1 ELSE -1 END * extract(epoch FROM occurred_at))
               / 60.0 AS minutes
    FROM station_movements
    WHERE lab_id = $1 AND job_id = ANY($2::text[]) AND status IN ('in_process', 'done')
    GROUP BY job_id, station
    HAVING count(*) FILTER (WHERE status = 'done')
        = count(*) FILTER (WHERE status = 'in_process')
) visits
GROUP BY job_id
"""
NO_JIT = "SET LOCAL jit = off"  # these plans are many cheap index probes: compiling them costs more
SELECT_STATION_DONE = """
SELECT station, count(*) AS passes FROM station_movements
WHERE lab_id = $1 AND status = 'done' AND occurred_at >= $2 AND occurred_at < $3
GROUP BY station ORDER BY station
"""
SELECT_REVENUE = """
SELECT o.practice_id, (o.lens ->> 'type') || '/' || (o.lens ->> 'material') AS product,
       count(*) AS orders, count(coalesce(pp.price, pd.price)) AS priced,
       coalesce(sum(coalesce(pp.price, pd.price)), 0) AS revenue
FROM events e
JOIN orders o ON o.id = e.order_id AND o.lab_id = $1
LEFT JOIN price_lists pp ON pp.lab_id = $1 AND pp.practice_id = o.practice_id
    AND pp.product = (o.lens ->> 'type') || '/' || (o.lens ->> 'material')
LEFT JOIN price_lists pd ON pd.lab_id = $1 AND pd.practice_id IS NULL
    AND pd.product = (o.lens ->> 'type') || '/' || (o.lens ->> 'material')
WHERE e.tenant_id = $1 AND e.type = 'order.status_changed' AND (e.payload ->> 'to') = 'shipped'
  AND e.occurred_at >= $2 AND e.occurred_at < $3
GROUP BY 1, 2 ORDER BY 1, 2
"""
SELECT_VERSION = """
SELECT (SELECT last_seq FROM tenant_heads WHERE tenant_id = $1) AS head,
       (SELECT updated_at FROM cost_models WHERE lab_id = $1) AS model_at
"""
SELECT_COST_MODEL = """
SELECT currency, labour_rate_per_hour, blank_cost, overhead_per_day, updated_at
FROM cost_models WHERE lab_id = $1
"""
UPSERT_COST_MODEL = """
INSERT INTO cost_models (lab_id, currency, labour_rate_per_hour, blank_cost, overhead_per_day,
    updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (lab_id) DO UPDATE SET currency = EXCLUDED.currency,
    labour_rate_per_hour = EXCLUDED.labour_rate_per_hour, blank_cost = EXCLUDED.blank_cost,
    overhead_per_day = EXCLUDED.overhead_per_day, updated_by = EXCLUDED.updated_by,
    updated_at = EXCLUDED.updated_at
"""
DELETE_PRICES = "DELETE FROM price_lists WHERE lab_id = $1"
INSERT_PRICES = """
INSERT INTO price_lists (lab_id, practice_id, product, price)
SELECT $1, p.practice_id, p.product, p.price
FROM unnest($2::uuid[], $3::text[], $4::numeric[]) AS p(practice_id, product, price)
"""
SELECT_PRICES = """
SELECT practice_id, product, price FROM price_lists WHERE lab_id = $1
ORDER BY practice_id NULLS FIRST, product
"""
SELECT_LINKED = "SELECT practice_id FROM tenant_links WHERE lab_id = $1 AND practice_id = ANY($2)"


def _job(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("id", "practice_id", "remake_of"):
        if out[key] is not None:
            out[key] = str(out[key])
    return out


async def jobs(
    conn: Conn,
    lab_id: str,
    period: tuple[datetime, datetime],
    due: tuple[date, date],
    as_of: datetime,
) -> list[dict[str, Any]]:
    """Jobs shipped in the period, due in it (``[first, end)``), or open at ``as_of``."""
    async with conn.transaction():
        await conn.execute(NO_JIT)
        rows = await conn.fetch(SELECT_JOBS, lab_id, *period, *due, as_of)
    return [_job(r) for r in rows]


async def labour_minutes(
    conn: Conn, lab_id: str, job_ids: list[str]
) -> dict[str, dict[str, float]]:
    """Booked minutes per LIMS job id and station (one row per job, stations as JSON)."""
    out: dict[str, dict[str, float]] = {}
    async with conn.transaction():
        await conn.execute(NO_JIT)
        rows = await conn.fetch(SELECT_LABOUR, lab_id, job_ids)
    for r in rows:
        out[r["job_id"]] = {station: float(m) for station, m in r["minutes"].items()}
    return out


async def station_passes(conn: Conn, lab_id: str, start: datetime, end: datetime) -> dict[str, int]:
    rows = await conn.fetch(SELECT_STATION_DONE, lab_id, start, end)
    return {r["station"]: int(r["passes"]) for r in rows}


async def revenue(conn: Conn, lab_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = await conn.fetch(SELECT_REVENUE, lab_id, start, end)
    return [{**dict(r), "practice_id": str(r["practice_id"])} for r in rows]


async def data_version(conn: Conn, lab_id: str) -> tuple[int, datetime | None]:
    """The lab's log head and cost-model time: what every report of the lab depends on."""
    row = await conn.fetchrow(SELECT_VERSION, lab_id)
    return int(row["head"] or 0), row["model_at"]


async def cost_model(conn: Conn, lab_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_COST_MODEL, lab_id)
    return None if row is None else dict(row)


async def prices(conn: Conn, lab_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(SELECT_PRICES, lab_id)
    return [
        {
            "practice_id": None if r["practice_id"] is None else str(r["practice_id"]),
            "product": r["product"],
            "price": r["price"],
        }
        for r in rows
    ]


async def linked_practices(conn: Conn, lab_id: str, practice_ids: list[str]) -> set[str]:
    return {str(r["practice_id"]) for r in await conn.fetch(SELECT_LINKED, lab_id, practice_ids)}


async def save_cost_model(
    conn: Conn,
    lab_id: str,
    model: dict[str, Any],
    price_rows: list[tuple[str | None, str, Decimal]],
    updated_by: str,
    now: datetime,
) -> None:
    """Replace the lab's cost model and its whole price list."""
    await conn.execute(
        UPSERT_COST_MODEL,
        lab_id,
        model["currency"],
        model["labour_rate_per_hour"],
        model["blank_cost"],
        model["overhead_per_day"],
        updated_by,
        now,
    )
    await conn.execute(DELETE_PRICES, lab_id)
    await conn.execute(
        INSERT_PRICES,
        lab_id,
        [p[0] for p in price_rows],
        [p[1] for p in price_rows],
        [p[2] for p in price_rows],
    )
