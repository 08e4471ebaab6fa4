"""Pace the model's simulated minutes against the wall clock.

simpy ships ``simpy.rt.RealtimeEnvironment``, but it sleeps in the calling thread between events;
the simulated LIMS shares one asyncio loop with its HTTP server and webhook sender, so it instead
advances the ordinary environment in small steps and yields to the loop in between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ils.sim.model import LabModel


class Pacer:
    """Keeps ``model.now`` (minutes) at ``speed`` times the elapsed wall time since start."""

    def __init__(
        self,
        model: LabModel,
        speed: float,
        tick_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.tick_s = tick_s
        self._clock = clock
        self._speed = speed
        self._wall0 = clock()
        self._sim0 = model.now

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        self._wall0, self._sim0 = self._clock(), self.target()
        self._speed = max(0.0, speed)

    def target(self) -> float:
        return max(self.model.now, self._sim0 + (self._clock() - self._wall0) * self._speed / 60.0)

    def step(self) -> None:
        self.model.run_until(self.target())

    async def run(self) -> None:
        while True:
            self.step()
            await asyncio.sleep(self.tick_s)
