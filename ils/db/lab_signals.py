"""Committed lab activity for the process and quality detectors: a period's breakages and judged
inspections (read when a period of the lab's line closes), and each station's latest movements
(read to rebuild the line after a restart).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ils.db.database import Conn

SELECT_BREAKAGES = """
SELECT station, reason_code, count(*)::int AS n FROM breakages
WHERE lab_id = $1 AND occurred_at >= $2 AND occurred_at < $3
GROUP BY station, reason_code ORDER BY station, reason_code
"""
SELECT_INSPECTION_VERDICTS = """
SELECT extract(epoch FROM occurred_at)::float8 AS at, verdict FROM lims_inspections
WHERE lab_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND verdict IS NOT NULL
ORDER BY occurred_at, id
"""

#: A station's latest $3 movements (by the station index), oldest first.
SELECT_RECENT_MOVEMENTS = """
SELECT station, job_id, status, extract(epoch FROM occurred_at)::float8 AS at FROM (
    SELECT station, job_id, status, occurred_at, n FROM station_movements
    WHERE lab_id = $1 AND station = $2 ORDER BY n DESC LIMIT $3
) m ORDER BY n
"""


async def recent_movements(
    conn: Conn, lab_id: str, stations: Sequence[str], limit: int
) -> list[tuple[str, str, str, float]]:
    """``(station, job, status, epoch s)`` of each station's latest ``limit`` movements."""
    out: list[tuple[str, str, str, float]] = []
    for station in stations:
        rows = await conn.fetch(SELECT_RECENT_MOVEMENTS, lab_id, station, limit)
        out += [(r["station"], r["job_id"], r["status"], float(r["at"])) for r in rows]
    return out


async def breakages(
    conn: Conn, lab_id: str, since: datetime, until: datetime
) -> dict[tuple[str, str], int]:
    """Breakages per (station, reason code) that occurred in ``[since, until)``."""
    rows = await conn.fetch(SELECT_BREAKAGES, lab_id, since, until)
    return {(r["station"], r["reason_code"]): int(r["n"]) for r in rows}


async def inspection_verdicts(
    conn: Conn, lab_id: str, since: datetime, until: datetime
) -> list[tuple[float, dict[str, Any]]]:
    """(epoch s, ILS verdict) of the judged LIMS inspections in ``[since, until)``, in order."""
    rows = await conn.fetch(SELECT_INSPECTION_VERDICTS, lab_id, since, until)
    out = []
    for r in rows:
        verdict = r["verdict"]
        out.append((float(r["at"]), json.loads(verdict) if isinstance(verdict, str) else verdict))
    return out
