from __future__ import annotations

import numpy as np
import pytest

from ils.sim.clock import Pacer
from ils.sim.model import LabModel
from ils.sim.outage import Outage
from tests.unit.sim.conftest import calm_config


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_speed_sixty_runs_a_simulated_minute_per_wall_second() -> None:
    clock = FakeClock()
    model = LabModel(calm_config(), np.random.default_rng(0))
    pacer = Pacer(model, speed=60.0, clock=clock)
    clock.t += 10.0
    pacer.step()
    assert model.now == pytest.approx(10.0)
    pacer.set_speed(1.0)  # real time from here on
    clock.t += 120.0
    pacer.step()
    assert model.now == pytest.approx(12.0)


def test_pacing_never_moves_time_backwards() -> None:
    clock = FakeClock()
    model = LabModel(calm_config(), np.random.default_rng(0))
    pacer = Pacer(model, speed=60.0, clock=clock)
    model.run_until(100.0)  # e.g. /_control/advance
    pacer.set_speed(60.0)
    clock.t += 1.0
    pacer.step()
    assert model.now == pytest.approx(101.0)


def test_outage_ends_by_itself() -> None:
    clock = FakeClock()
    outage = Outage(clock)
    outage.start(5.0, "hang")
    assert outage.active() == "hang"
    clock.t += 5.1
    assert outage.active() is None
    with pytest.raises(ValueError):
        outage.start(1.0, "explode")  # type: ignore[arg-type]
