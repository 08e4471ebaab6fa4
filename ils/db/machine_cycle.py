"""Machine cycle times by station: the ``cycle_time_s`` telemetry of a lab's equipment, with the
station each machine is registered at (``equipment.station``), for bottleneck detection."""

from __future__ import annotations

from datetime import datetime

from ils.db.database import Conn

#: Cycle-time readings of the lab's registered machines taken after $2 (and up to $3 unless it is
#: null), oldest first. Served by the BRIN index on time and the (lab_id, equipment_id, at) index.
SELECT_STATION_CYCLE_READINGS = """
SELECT e.station, extract(epoch FROM t.at)::float8 AS at, t.value
FROM telemetry t JOIN equipment e ON e.lab_id = t.lab_id AND e.id = t.equipment_id
WHERE t.lab_id = $1 AND t.metric = 'cycle_time_s' AND t.at > $2
  AND ($3::timestamptz IS NULL OR t.at <= $3)
ORDER BY t.at, e.station
"""


async def station_cycle_readings(
    conn: Conn, lab_id: str, after: datetime, until: datetime | None = None
) -> list[tuple[str, float, float]]:
    """``(station, epoch s, cycle_time_s)`` of every reading taken in (after, until] (until:
    None, no upper bound)."""
    rows = await conn.fetch(SELECT_STATION_CYCLE_READINGS, lab_id, after, until)
    return [(str(r["station"]), float(r["at"]), float(r["value"])) for r in rows]
