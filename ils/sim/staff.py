"""A station's staff as a simpy resource whose size can change while the model runs.

simpy resources have a fixed capacity, so (as the simpy documentation suggests for breaks and
shifts) the pool is a PriorityResource sized for the most staff a station could ever have, and
absent staff are "off-duty tokens": high-priority requests that hold a slot. Sending someone home
queues a token that takes the next free slot (the worker finishes the current job first); bringing
someone in releases a token at once.
"""

from __future__ import annotations

import math

import simpy

OFF_DUTY_PRIORITY = 0
JOB_PRIORITY = 1


class StaffPool:
    def __init__(self, env: simpy.Environment, nominal: int, ceiling: int | None = None) -> None:
        self.ceiling = ceiling if ceiling is not None else max(64, 4 * nominal)
        self.resource = simpy.PriorityResource(env, capacity=self.ceiling)
        self._off: list[simpy.resources.resource.PriorityRequest] = []
        self.nominal = nominal
        self.fraction = 1.0
        self._apply()

    @property
    def level(self) -> int:
        """Staff on duty (including those about to leave after their current job)."""
        return self.ceiling - len(self._off)

    @property
    def busy(self) -> int:
        return len(self.resource.users) - sum(1 for r in self._off if r.triggered)

    @property
    def waiting(self) -> int:
        return len(self.resource.queue) - sum(1 for r in self._off if not r.triggered)

    def request(self) -> simpy.resources.resource.PriorityRequest:
        return self.resource.request(priority=JOB_PRIORITY)

    def set_nominal(self, staff: int) -> None:
        self.nominal = max(0, staff)
        self._apply()

    def set_fraction(self, fraction: float) -> None:
        self.fraction = fraction
        self._apply()

    def _target(self) -> int:
        if self.nominal == 0:
            return 0
        return min(self.ceiling, max(1, math.ceil(self.nominal * self.fraction - 1e-9)))

    def _apply(self) -> None:
        want_off = self.ceiling - self._target()
        while len(self._off) < want_off:
            self._off.append(self.resource.request(priority=OFF_DUTY_PRIORITY))
        while len(self._off) > want_off:
            token = self._off.pop()
            if token.triggered:
                self.resource.release(token)
            else:
                token.cancel()
