"""LIMS job events exactly as API.md describes them (id, type, occurred_at, data)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ils.domain.lims_event import EVENT_TYPES
from ils.sim.job import Job


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class EventFactory:
    """Builds events with per-job sequence numbers and ids drawn from a seeded stream."""

    def __init__(self, start: datetime, rng: np.random.Generator) -> None:
        self.start = start
        self._rng = rng

    def moment(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def make(self, job: Job, kind: str, minutes: float, status: str, **data: Any) -> dict[str, Any]:
        if kind not in EVENT_TYPES:
            raise ValueError(f"unknown LIMS event type {kind}")
        body: dict[str, Any] = {
            "job_id": job.job_id,
            "order_id": job.order_id,
            "station": job.station.value if job.station is not None else None,
            "status": status,
            "sequence": job.next_sequence(),
        }
        body.update(data)
        return {
            "id": "evt_" + self._rng.bytes(12).hex(),
            "type": kind,
            "occurred_at": rfc3339(self.moment(minutes)),
            "data": body,
        }
