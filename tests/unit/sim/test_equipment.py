from __future__ import annotations

import numpy as np

from ils.domain.station import Station
from ils.sim.equipment import EquipmentFeed, lab_machines
from ils.sim.model import LabModel
from ils.sim.telemetry import DegradationParams
from tests.unit.sim.conftest import calm_config


def test_machines_are_named_after_their_stations() -> None:
    model = LabModel(calm_config(), np.random.default_rng(0))
    machines = lab_machines(model)
    surfacing = [m for m in machines if m.station == "surfacing"]
    assert len(surfacing) == model.config.stations[Station.SURFACING].machines
    assert {m.kind for m in surfacing} == {"generator", "polisher"}
    assert len({m.equipment_id for m in machines}) == len(machines)


def test_failures_take_machines_out_of_service_until_repair() -> None:
    model = LabModel(calm_config(), np.random.default_rng(0))
    params = DegradationParams(gradual_rate=3.0, sudden_rate=3.0)
    feed = EquipmentFeed(model, np.random.default_rng(1), step_min=60.0, params=params)
    readings, events = [], []
    for day in range(1, 11):
        model.run_until(day * 1440.0)
        more, happened = feed.advance()
        readings += more
        events += happened
    failures = [e for e in events if e["type"] == "failure"]
    assert failures
    assert model.downtime
    assert all(until > began for _, began, until in model.downtime)
    assert {"vibration_mm_s", "spindle_temp_c"} <= readings[0]["metrics"].keys()
    again = EquipmentFeed(
        LabModel(calm_config(), np.random.default_rng(0)), np.random.default_rng(1)
    )
    assert again.machines == feed.machines
