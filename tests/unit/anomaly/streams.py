"""Synthetic streams for the detector tests: a shift-shaped daily cycle plus Gaussian noise."""

from __future__ import annotations

import numpy as np

STEP = 600.0
DAY = 86400.0


def seasonal_stream(
    days: float,
    rng: np.random.Generator,
    level: float = 10.0,
    amplitude: float = 2.0,
    noise: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, days * DAY, STEP)
    cycle = amplitude * np.sin(2 * np.pi * t / DAY)
    return t, level + cycle + noise * rng.standard_normal(t.size)
