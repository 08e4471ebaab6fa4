"""Feeding committed movements to the live stations in the background, gathered over requests.

A webhook's transaction commits its station movements; the webhook answers without waiting for
the station actors, the snapshots or the bottleneck observers. Its movements are handed to the
:class:`StationFeed` of the replica, which wakes every ``FEED_EVERY_S``, and feeds everything
handed over meanwhile together: one call per station and lab instead of one per request, and the
due snapshots in one transaction.

Decisions:

- Nothing durable is at stake: the movements are committed, and a station actor rebuilds from
  them (so a crash between the commit and the feed loses nothing but a little freshness).
- The observers (bottleneck detectors sample on the LIMS's clock) are told of the gathered
  movements in runs that span at most ``OBSERVE_SPAN`` of LIMS time, in the order they were
  committed: a LIMS that sends in real time makes one run per wake-up, a simulator running far
  faster than real time makes several, and the detectors see the samples they would have seen
  request by request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ils.domain.lims_event import Movement
from ils.services.stations import Stations

log = logging.getLogger(__name__)

#: Movements handed over are gathered this long, then fed together.
FEED_EVERY_S = 0.05
#: The LIMS time one observation may span.
OBSERVE_SPAN = timedelta(seconds=1)


@dataclass(frozen=True)
class Handover:
    moves: tuple[Movement, ...]
    now: datetime
    wall_s: float


def runs_of(handovers: Sequence[Handover], span: timedelta = OBSERVE_SPAN) -> list[list[Movement]]:
    """Consecutive handovers joined while their LIMS times stay within ``span`` of each other."""
    runs: list[list[Movement]] = []
    bounds: list[tuple[datetime, datetime]] = []
    for handover in handovers:
        times = [m.occurred_at for m in handover.moves]
        low, high = min(times), max(times)
        if bounds and max(bounds[-1][1], high) - min(bounds[-1][0], low) <= span:
            runs[-1].extend(handover.moves)
            bounds[-1] = (min(bounds[-1][0], low), max(bounds[-1][1], high))
        else:
            runs.append(list(handover.moves))
            bounds.append((low, high))
    return runs


class StationFeed:
    """The background feed of one replica's :class:`Stations` (see the module's decisions)."""

    def __init__(self, stations: Stations, every_s: float = FEED_EVERY_S) -> None:
        self.stations = stations
        self.every_s = every_s
        self._queued: dict[str, list[Handover]] = {}
        self._task: asyncio.Task[None] | None = None

    def submit(self, lab_id: str, moves: Sequence[Movement], now: datetime, wall_s: float) -> None:
        """Hand committed movements over; returns at once."""
        if not moves:
            return
        self._queued.setdefault(lab_id, []).append(Handover(tuple(moves), now, wall_s))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="station-feed")

    async def _run(self) -> None:
        while self._queued:
            await asyncio.sleep(self.every_s)
            queued, self._queued = self._queued, {}
            for lab_id, handovers in queued.items():
                await self._feed(lab_id, handovers)

    async def _feed(self, lab_id: str, handovers: list[Handover]) -> None:
        moves = [m for h in handovers for m in h.moves]
        latest = handovers[-1]
        try:
            await self.stations.after_commit(
                lab_id, moves, latest.now, latest.wall_s, runs=runs_of(handovers)
            )
        except Exception:  # committed already: the stations rebuild from the database
            log.warning("feeding %d movements of %s failed", len(moves), lab_id, exc_info=True)

    async def settle(self) -> None:
        """Wait until everything handed over so far was fed."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
