"""Synthetic streams for the detector tests: a shift-shaped daily cycle plus Gaussian noise, and
an hour of station movements (``hour_of_moves``)."""

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


HOUR = 3600.0
T0 = 1_790_000_000.0 - 1_790_000_000.0 % HOUR  # an hour boundary
Move = tuple[str, str, str, float]


def hour_of_moves(
    hour: int,
    rng: np.random.Generator,
    service_min: dict[str, float],
    stuck: dict[str, int] | None = None,
    t0: float = T0,
) -> list[Move]:
    """30 jobs per station: queued each minute, started 2 min later, served ``service_min`` +-
    10% (normal); ``stuck`` jobs per station queued and never started."""
    moves: list[Move] = []
    for station, mean in service_min.items():
        for j in range(30):
            job = f"{station}-{hour}-{j}"
            at = t0 + hour * HOUR + j * 60.0
            moves.append((station, job, "queued", at))
            began = at + 120.0
            moves.append((station, job, "in_process", began))
            done = began + 60.0 * max(0.5, rng.normal(mean, 0.1 * mean))
            moves.append((station, job, "done", min(done, t0 + (hour + 1) * HOUR - 1)))
        for j in range((stuck or {}).get(station, 0)):
            moves.append((station, f"{station}-{hour}-stuck-{j}", "queued", t0 + hour * HOUR + j))
    return moves
