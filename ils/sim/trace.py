"""Per-station traces of the simulated lab, for evaluating bottleneck detection offline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StationTrace:
    """Times in model minutes. ``queue`` holds (time, jobs waiting) after every change."""

    arrivals: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    queue: list[tuple[float, int]] = field(default_factory=list)
    staff: list[tuple[float, int]] = field(default_factory=list)
    waiting: int = 0
    in_process: int = 0

    def arrive(self, t: float) -> None:
        self.arrivals.append(t)
        self.waiting += 1
        self.queue.append((t, self.waiting))

    def start(self, t: float) -> None:
        self.starts.append(t)
        self.waiting -= 1
        self.in_process += 1
        self.queue.append((t, self.waiting))

    def end(self, t: float) -> None:
        self.ends.append(t)
        self.in_process -= 1

    def mean_queue(self, until: float) -> float:
        """Time-averaged number of jobs waiting over [0, until]."""
        if not self.queue or until <= 0:
            return 0.0
        times = np.array([t for t, _ in self.queue] + [until])
        lengths = np.array([n for _, n in self.queue], dtype=float)
        return float(np.sum(lengths * np.diff(times)) / until)

    def throughput_per_hour(self, since: float, until: float) -> float:
        ends = np.asarray(self.ends)
        span_h = max(until - since, 1e-9) / 60.0
        return float(np.count_nonzero((ends >= since) & (ends <= until)) / span_h)
