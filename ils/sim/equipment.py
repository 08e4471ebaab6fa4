"""Equipment of the simulated lab and its telemetry, from the anomaly engineer's generator.

``TelemetryGenerator`` (``ils.sim.telemetry``) decides when machines degrade, fail and are repaired;
this module names the lab's machines after its stations, advances the generator in step with the
model and takes a failed machine out of service in the model until its repair, so that a failure
shows up in the lab's queues as it would in a real lab. Failures and repairs are applied when the
feed reads the window that contains them, so at most one window late.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import simpy

from ils.domain.station import Station
from ils.sim.model import LabModel
from ils.sim.telemetry import DegradationParams, Machine, TelemetryGenerator

#: Machine kinds per station; surfacing has generators and polishers in about equal numbers.
STATION_KINDS: dict[Station, tuple[str, ...]] = {
    Station.SURFACING: ("generator", "polisher"),
    Station.HARD_COAT: ("coater",),
    Station.AR_COAT: ("coater",),
    Station.EDGING: ("edger",),
}


def lab_machines(model: LabModel) -> list[Machine]:
    machines: list[Machine] = []
    for station, kinds in STATION_KINDS.items():
        count = model.config.stations[station].machines
        for i in range(count):
            kind = kinds[i % len(kinds)]
            machines.append(Machine(f"{station.value}-{kind}-{i + 1}", kind, station.value))
    return machines


class EquipmentFeed:
    """Readings and equipment events for successive model-time windows."""

    def __init__(
        self,
        model: LabModel,
        rng: np.random.Generator,
        step_min: float = 10.0,
        params: DegradationParams | None = None,
    ) -> None:
        self.model = model
        self.machines = lab_machines(model)
        self._station = {m.equipment_id: Station(m.station) for m in self.machines}
        self._generator = TelemetryGenerator(self.machines, rng, params)
        self._step = timedelta(minutes=step_min)
        self._cursor = 0.0
        self._down: dict[str, simpy.Event] = {}

    def advance(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Everything that happened since the last call up to ``model.now``: (readings, events).
        Failures put the machine down in the model until its repair."""
        end = self.model.now
        if end - self._cursor < self._step.total_seconds() / 60.0:
            return [], []
        window = self._generator.readings_between(
            self.model.moment(self._cursor), self.model.moment(end), self._step
        )
        self._cursor = end
        for i, event in enumerate(window.events):
            self._apply(event, window.events[i + 1 :])
        return window.readings, window.events

    def _apply(self, event: dict[str, Any], later: list[dict[str, Any]]) -> None:
        # Events are applied when the feed reads their window, so downtime starts at most one
        # window late; its length is the generator's (failure to repair, or maintenance hours).
        equipment, kind = event["equipment_id"], event["type"]
        station = self._station[equipment]
        if kind == "maintenance":
            self.model.machine_down(station, self._generator.params.maintenance_h * 60.0)
        elif kind == "failure" and equipment not in self._down:
            repair = next(
                (e for e in later if e["equipment_id"] == equipment and e["type"] == "repair"), None
            )
            if repair is None:
                self._down[equipment] = self.model.machine_down(station)
            else:
                minutes = (repair["at"] - event["at"]).total_seconds() / 60.0
                self.model.machine_down(station, minutes)
                self._down[equipment] = self.model.env.event()  # closed by that repair
        elif kind == "repair" and equipment in self._down:
            repaired = self._down.pop(equipment)
            if not repaired.triggered:
                repaired.succeed()
