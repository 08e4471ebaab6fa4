from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from ils.sim.config import LabConfig, default_lab_config
from ils.sim.model import LabModel
from ils.sim.order_mix import synthetic_order


def calm_config(**overrides: Any) -> LabConfig:
    """A lab where nothing breaks, nothing is held and every inspection passes."""
    config = default_lab_config()
    stations = {s: replace(p, breakage=0.0) for s, p in config.stations.items()}
    calm = replace(
        config,
        stations=stations,
        hold_rate=0.0,
        batch_failure_rate=0.0,
        inspection_noise=0.0,
    )
    return replace(calm, **overrides)


def run_lab(config: LabConfig, seed: int, jobs: int, days: float = 6.0) -> LabModel:
    model = LabModel(config, np.random.default_rng(seed))
    orders = np.random.default_rng(seed + 1000)
    for k in range(jobs):
        model.run_until(k * 1440.0 / 200)
        model.submit(synthetic_order(orders))
    model.run_until(days * 1440.0)
    return model


@pytest.fixture(scope="module")
def busy_lab() -> LabModel:
    return run_lab(default_lab_config(), seed=7, jobs=400)
