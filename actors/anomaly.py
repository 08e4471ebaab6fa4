"""``AnomalyModel``: one Ray actor per lab, the home of its streaming detectors and failure model.

The actor is an address and a lifetime: the state is :class:`ils.services.anomaly_model.LabAnomaly`
(tested without Ray). On first use, and after every restart, it rebuilds from PostgreSQL (the
registry, and each machine's detectors replayed over its recent telemetry); the failure model is
retrained on the next risk request. Trainings run on a worker thread, so the detectors keep
answering while a model fits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import ray

from actors.naming import named_actor
from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.validation import Verdict
from ils.analytics.failure.model import TrainingParams
from ils.db.database import Database
from ils.services.anomaly_model import LabAnomaly
from ils.settings import Settings


def actor_name(lab_id: str) -> str:
    return f"anomaly:{lab_id}"


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class AnomalyModel:
    def __init__(
        self, settings: Settings, lab_id: str, params: TrainingParams | None = None
    ) -> None:
        self.settings = settings
        self.lab_id = lab_id
        self.params = params
        self.lab: LabAnomaly | None = None
        self.lock = asyncio.Lock()

    async def _loaded(self) -> LabAnomaly:
        async with self.lock:
            if self.lab is None:
                db = await Database.connect(self.settings, min_size=1, max_size=2)
                lab = LabAnomaly(db, self.lab_id, self.params)
                await lab.load()
                self.lab = lab
            return self.lab

    async def register(self, equipment_id: str, metrics: Sequence[str]) -> None:
        (await self._loaded()).register(equipment_id, metrics)

    async def check(self, readings: Sequence[Mapping[str, Any]], now: float) -> list[Verdict]:
        return (await self._loaded()).check(readings, now)

    async def observe(self, readings: Sequence[Mapping[str, Any]]) -> list[Finding]:
        return (await self._loaded()).observe(readings)

    async def intake(
        self, readings: Sequence[Mapping[str, Any]], now: datetime
    ) -> tuple[list[Verdict], list[Finding]]:
        return await (await self._loaded()).intake(readings, now)

    async def movements(self, moves: Sequence[tuple[str, str, str, float]]) -> list[Finding]:
        return await (await self._loaded()).movements(moves)

    async def risk(self, equipment_id: str, now: datetime) -> tuple[dict[str, Any], Finding | None]:
        return await (await self._loaded()).risk(equipment_id, now)

    async def train(self, now: datetime, wait: bool) -> dict[str, Any]:
        lab = await self._loaded()
        if wait:
            return await lab.train(now)
        lab.schedule_training(now, force=True)
        return lab.status()

    async def precursor(self, equipment_id: str, failed_at: datetime) -> dict[str, Any]:
        return await (await self._loaded()).precursor(equipment_id, failed_at)

    async def sweep(self, equipment_ids: Sequence[str], now: datetime) -> list[Finding]:
        return await (await self._loaded()).sweep(equipment_ids, now)

    async def machines(self) -> dict[str, dict[str, Any]]:
        return (await self._loaded()).machine_status()


def anomaly_model(settings: Settings, lab_id: str, params: TrainingParams | None = None) -> Any:
    """The lab's actor, created on first use (detached: it outlives the replica that made it)."""
    return named_actor(AnomalyModel, actor_name(lab_id), settings, lab_id, params)


class RayAnomaly:
    """The anomaly port on Ray: each lab's ``LabAnomaly`` in its ``AnomalyModel`` actor."""

    def __init__(self, settings: Settings, params: TrainingParams | None = None) -> None:
        self.settings = settings
        self.params = params
        self._handles: dict[str, Any] = {}

    def handle(self, lab_id: str) -> Any:
        if lab_id not in self._handles:
            self._handles[lab_id] = anomaly_model(self.settings, lab_id, self.params)
        return self._handles[lab_id]

    async def register(self, lab_id: str, equipment_id: str, metrics: Sequence[str]) -> None:
        await self.handle(lab_id).register.remote(equipment_id, list(metrics))

    async def check(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]], now: float
    ) -> list[Verdict]:
        verdicts: list[Verdict] = await self.handle(lab_id).check.remote(list(readings), now)
        return verdicts

    async def observe(self, lab_id: str, readings: Sequence[Mapping[str, Any]]) -> list[Finding]:
        findings: list[Finding] = await self.handle(lab_id).observe.remote(list(readings))
        return findings

    async def intake(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]], now: datetime
    ) -> tuple[list[Verdict], list[Finding]]:
        answer: tuple[list[Verdict], list[Finding]] = await self.handle(lab_id).intake.remote(
            list(readings), now
        )
        return answer

    async def movements(
        self, lab_id: str, moves: Sequence[tuple[str, str, str, float]]
    ) -> list[Finding]:
        found: list[Finding] = await self.handle(lab_id).movements.remote(list(moves))
        return found

    async def risk(
        self, lab_id: str, equipment_id: str, now: datetime
    ) -> tuple[dict[str, Any], Finding | None]:
        answer: tuple[dict[str, Any], Finding | None] = await self.handle(lab_id).risk.remote(
            equipment_id, now
        )
        return answer

    async def train(self, lab_id: str, now: datetime, wait: bool) -> dict[str, Any]:
        status: dict[str, Any] = await self.handle(lab_id).train.remote(now, wait)
        return status

    async def precursor(
        self, lab_id: str, equipment_id: str, failed_at: datetime
    ) -> dict[str, Any]:
        answer: dict[str, Any] = await self.handle(lab_id).precursor.remote(equipment_id, failed_at)
        return answer

    async def sweep(
        self, lab_id: str, equipment_ids: Sequence[str], now: datetime
    ) -> list[Finding]:
        found: list[Finding] = await self.handle(lab_id).sweep.remote(list(equipment_ids), now)
        return found

    async def machines(self, lab_id: str) -> dict[str, dict[str, Any]]:
        status: dict[str, dict[str, Any]] = await self.handle(lab_id).machines.remote()
        return status
