"""Committed quality records of a lab over a period: breakages and judged inspections.

Read by the process and quality detectors when a period of the lab's line closes.
"""

from __future__ import annotations

import json
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
