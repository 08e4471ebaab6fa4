"""``StationActor``: one Ray actor per lab station, the in-memory home of its live state.

The actor is an address and a lifetime: the state is :class:`ils.services.stations.StationModel`
(unit-tested without Ray). On first use, and after every restart, the actor rebuilds the model
from PostgreSQL (its resources and its movement history), then takes committed movements as the
webhook service sends them.

It also catches up from PostgreSQL (``ils.services.stations.LiveStation``) before a read (at most
every ``READ_CATCH_UP_S``) and while taking movements (at most every ``CATCH_UP_S``), so movements a
lost API replica never handed over still reach it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import ray

from actors.naming import named_actor
from ils.db.database import Database
from ils.domain.lims_event import Movement
from ils.domain.station import LINE, Station
from ils.services.stations import LiveStation, Resources, StationModel, load_live_station
from ils.settings import Settings

#: Least wall time between two catch-ups from PostgreSQL while taking movements, and before reads.
CATCH_UP_S = 30.0
READ_CATCH_UP_S = 2.0


def actor_name(lab_id: str, station: Station) -> str:
    return f"station:{lab_id}:{station}"


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class StationActor:
    def __init__(self, settings: Settings, lab_id: str, station: Station) -> None:
        self.settings = settings
        self.lab_id = lab_id
        self.station = station
        self.live: LiveStation | None = None
        self.db: Database | None = None
        self.lock = asyncio.Lock()

    async def _live(self, catch_up_every_s: float) -> StationModel:
        """The station's model: rebuilt on first use, caught up when a catch-up is due."""
        async with self.lock:
            if self.live is None or self.live.due(time.monotonic(), catch_up_every_s):
                if self.db is None:
                    # One connection for the actor's life (the pool replaces it if it drops).
                    self.db = await Database.connect(self.settings, min_size=1, max_size=1)
                if self.live is None:
                    self.live = await load_live_station(
                        self.db, self.lab_id, self.station, time.monotonic()
                    )
                else:
                    await self.live.catch_up(self.db, time.monotonic())
            return self.live.model

    async def apply(self, moves: Sequence[Movement], wall_s: float) -> dict[str, Any] | None:
        model = await self._live(CATCH_UP_S)
        for move in moves:
            model.feed(move)
        return model.snapshot() if model.snapshot_due(wall_s) else None

    async def snapshot(self) -> dict[str, Any]:
        return (await self._live(READ_CATCH_UP_S)).snapshot()

    async def configure(self, resources: Resources) -> None:
        (await self._live(CATCH_UP_S)).resources = resources

    def held(self) -> int:
        """Jobs and service times the station holds in memory (0 before its first use)."""
        return 0 if self.live is None else self.live.model.held()


def station_actor(settings: Settings, lab_id: str, station: Station) -> Any:
    """The station's actor, created on first use (detached: it outlives the replica)."""
    return named_actor(StationActor, actor_name(lab_id, station), settings, lab_id, station)


class RayStations:
    """The stations port on Ray: each station's state in its ``StationActor``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handles: dict[tuple[str, Station], Any] = {}

    def handle(self, lab_id: str, station: Station) -> Any:
        key = (lab_id, station)
        if key not in self._handles:
            self._handles[key] = station_actor(self.settings, lab_id, station)
        return self._handles[key]

    async def apply(
        self, lab_id: str, station: Station, moves: Sequence[Movement], wall_s: float
    ) -> dict[str, Any] | None:
        snapshot: dict[str, Any] | None = await self.handle(lab_id, station).apply.remote(
            list(moves), wall_s
        )
        return snapshot

    async def read(self, lab_id: str) -> list[dict[str, Any]]:
        calls = [self.handle(lab_id, s).snapshot.remote() for s in LINE]
        return list(await asyncio.gather(*calls))

    async def configure(self, lab_id: str, station: Station, resources: Resources) -> None:
        await self.handle(lab_id, station).configure.remote(resources)
