"""``BottleneckModel``: one Ray actor per lab tenant, the home of the lab's bottleneck detector.

The actor is an address and a lifetime: the state and every decision are
:class:`ils.services.bottleneck_model.LabBottleneck` (unit-tested without Ray). It pulls the
stations' live snapshots from their ``StationActor``s, and the machines' cycle-time readings stored
since the last sample, when a sample is due. On first use, and after every restart, it rebuilds the
detector from the samples and telemetry stored in PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import ray

from actors.naming import named_actor
from actors.station import RayStations
from ils.db.database import Database
from ils.services.bottleneck_model import (
    DatabaseCycleTimes,
    LabBottleneck,
    LiveLine,
    Observation,
    load_lab,
)
from ils.settings import Settings


def actor_name(lab_id: str) -> str:
    return f"bottleneck:{lab_id}"


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class BottleneckModel:
    def __init__(self, settings: Settings, lab_id: str) -> None:
        self.settings = settings
        self.lab_id = lab_id
        self.lab: LabBottleneck | None = None
        self.db: Database | None = None
        self.lock = asyncio.Lock()

    async def _loaded(self) -> LabBottleneck:
        async with self.lock:
            if self.lab is None:
                # One connection for the actor's life: each sample reads the machines' new
                # cycle-time readings through it (the pool replaces it if it drops).
                if self.db is None:
                    self.db = await Database.connect(self.settings, min_size=1, max_size=1)
                self.lab = await load_lab(
                    self.db,
                    self.lab_id,
                    RayStations(self.settings),
                    DatabaseCycleTimes(self.db),
                )
            return self.lab

    async def observe(self, arrivals: Mapping[str, int], at: datetime) -> Observation | None:
        return await (await self._loaded()).observe(arrivals, at)

    async def live(self) -> LiveLine:
        return await (await self._loaded()).live()


def bottleneck_model(settings: Settings, lab_id: str) -> Any:
    """The lab's actor, created on first use (detached: it outlives the replica)."""
    return named_actor(BottleneckModel, actor_name(lab_id), settings, lab_id)


class RayBottlenecks:
    """The bottleneck port on Ray: each lab's detector in its ``BottleneckModel`` actor."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handles: dict[str, Any] = {}

    def handle(self, lab_id: str) -> Any:
        if lab_id not in self._handles:
            self._handles[lab_id] = bottleneck_model(self.settings, lab_id)
        return self._handles[lab_id]

    async def observe(
        self, lab_id: str, arrivals: Mapping[str, int], at: datetime
    ) -> Observation | None:
        found: Observation | None = await self.handle(lab_id).observe.remote(dict(arrivals), at)
        return found

    async def live(self, lab_id: str) -> LiveLine:
        line: LiveLine = await self.handle(lab_id).live.remote()
        return line
