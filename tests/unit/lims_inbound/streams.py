"""Realistic LIMS event streams for one job, as a lab would send them in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from ils.domain.lims_event import LimsEvent, parse_event

ORDER_ID = "0b6f1c52-6d55-4a3c-9a59-0a4f7f8b2f10"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
MEASURED = {"od": {"sphere": -2.0}, "os": {"sphere": -2.0}}


class Stream:
    def __init__(self, job_id: str = "J-1") -> None:
        self.job_id = job_id
        self.events: list[LimsEvent] = []

    def add(self, kind: str, station: str | None = None, **data: Any) -> None:
        seq = len(self.events) + 1
        raw = {
            "id": f"evt_{self.job_id}_{seq}",
            "type": kind,
            "occurred_at": (T0 + timedelta(minutes=3 * seq)).isoformat(),
            "data": {"job_id": self.job_id, "order_id": ORDER_ID, "sequence": seq,
                     "station": station, **data},
        }  # fmt: skip
        self.events.append(parse_event(raw))


@st.composite
def job_streams(draw: st.DrawFn) -> list[LimsEvent]:
    """accepted, maybe a hold (released or cancelled), stations with breakages and a final
    inspection that may fail, then shipped and delivered (or stopped part-way)."""
    s = Stream()
    s.add("job.accepted", status="accepted")
    if draw(st.booleans()):
        s.add("job.on_hold", "order_entry", status="on_hold", reason="frame_missing")
        if draw(st.integers(0, 4)) == 0:
            s.add("job.cancelled", "order_entry", status="cancelled")
            return s.events
        s.add("job.released", "order_entry", status="released")
    line = ["order_entry", "picking", "surfacing", "hard_coat", "ar_coat", "edging", "mounting"]
    route = [x for x in line if x == "order_entry" or draw(st.booleans())]
    route += ["final_inspection", "shipping"]
    i, breakages = 0, 0
    while i < len(route):
        station = route[i]
        s.add("job.station_changed", station, status="queued")
        s.add("job.station_changed", station, status="in_process")
        fails = breakages < 2 and i > 0 and draw(st.integers(0, 5)) == 0
        if station == "final_inspection":
            s.add("job.inspection", station, status="inspected", measured=MEASURED,
                  **{"pass": not fails})  # fmt: skip
        if fails:
            breakages += 1
            restart = draw(st.integers(0, i - 1)) if i > 1 else 0
            s.add("job.breakage", station, status="broken", reason_code="chip", shift="day",
                  restart_station=route[restart])  # fmt: skip
            i = restart
            continue
        s.add("job.station_changed", station, status="done")
        i += 1
    s.add("job.shipped", None, status="shipped", carrier="UPS", tracking_number="1Z")
    if draw(st.booleans()):
        s.add("job.delivered", None, status="delivered")
    return s.events
