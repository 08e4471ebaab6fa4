"""Send the simulated lab's equipment telemetry to ILS, as a lab's machine gateway would.

Uses the ordinary ILS API with a lab user's access token (``POST /api/equipment`` to register,
``POST /api/telemetry`` in chunks of at most 5,000 readings, ``POST /api/equipment/{id}/events``
for failures, repairs and maintenance). Without a token the feed still runs (machines still fail
in the model) and only the counters move.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx

from ils.sim.equipment import EquipmentFeed
from ils.sim.events import rfc3339

CHUNK = 5000


@dataclass
class UplinkStats:
    telemetry_readings: int = 0
    telemetry_posted: int = 0
    equipment_events: int = 0
    telemetry_errors: int = 0


class TelemetryUplink:
    def __init__(
        self, feed: EquipmentFeed, client: httpx.AsyncClient, base_url: str, token: str = ""
    ) -> None:
        self.feed = feed
        self.stats = UplinkStats()
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._registered = False

    def as_dict(self) -> dict[str, int]:
        return asdict(self.stats)

    async def run(self, every_s: float = 1.0) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(every_s)

    async def tick(self) -> None:
        readings, events = self.feed.advance()
        self.stats.telemetry_readings += len(readings)
        self.stats.equipment_events += len(events)
        if not self._headers:
            return
        if not self._registered:
            self._registered = await self._register()
        for i in range(0, len(readings), CHUNK):
            chunk = [_wire(r) for r in readings[i : i + CHUNK]]
            if await self._post("/api/telemetry", {"readings": chunk}):
                self.stats.telemetry_posted += len(chunk)
        for event in events:
            body = {"type": event["type"], "at": rfc3339(event["at"])}
            await self._post(f"/api/equipment/{event['equipment_id']}/events", body)

    async def _register(self) -> bool:
        ok = True
        for m in self.feed.machines:
            body = {"id": m.equipment_id, "station": m.station, "kind": m.kind}
            ok &= await self._post("/api/equipment", body, accept=(409,))
        return ok

    async def _post(self, path: str, body: dict[str, Any], accept: tuple[int, ...] = ()) -> bool:
        try:
            response = await self._client.post(self._base + path, json=body, headers=self._headers)
        except httpx.TransportError:
            self.stats.telemetry_errors += 1
            return False
        if response.is_success or response.status_code in accept:
            return True
        self.stats.telemetry_errors += 1
        return False


def _wire(reading: dict[str, Any]) -> dict[str, Any]:
    at = reading["at"]
    return {**reading, "at": rfc3339(at) if isinstance(at, datetime) else at}
