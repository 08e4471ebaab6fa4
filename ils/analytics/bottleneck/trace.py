"""Station state over time: the input of bottleneck detection and utilisation tracking.

A trace is a regular or irregular series of snapshots of every station: jobs waiting, servers
busy and servers available (staffed capacity). Station actors produce snapshots live; the digital
twin produces the same shape, so detection is tested and benchmarked on the twin unchanged.
Optionally a snapshot also counts the jobs that entered the line with a route through the station
(``routed``): the work heading for it before it arrives (see ``demand``), and the recent mean
``cycle_time_s`` its machines report in their equipment telemetry (``machine_cycle_s``; 0: the
station has no machines or none reported): a machine that slows shows there within minutes, long
before enough jobs have left to measure it (see ``detection``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StationSnapshot:
    """One station at one moment (``at`` in minutes on the caller's clock)."""

    at: float
    station: str
    queue: int
    in_process: int
    capacity: int
    arrived: int = 0  # cumulative jobs that reached the station
    service_mean: float = 0.0  # rolling mean service time (minutes; 0: unknown)
    routed: int = 0  # cumulative jobs that entered the line with a route through the station
    machine_cycle_s: float = 0.0  # recent mean machine cycle time (seconds; 0: no telemetry)


@dataclass(frozen=True)
class StationTrace:
    """Arrays of shape (times, stations): ``queue``, ``busy`` and ``capacity`` per sample."""

    times: np.ndarray
    stations: tuple[str, ...]
    queue: np.ndarray
    busy: np.ndarray
    capacity: np.ndarray
    arrived: np.ndarray | None = None
    service_mean: np.ndarray | None = None
    routed: np.ndarray | None = None
    machine_cycle: np.ndarray | None = None  # seconds; 0 where unknown

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def window(self, start: float, end: float) -> StationTrace:
        """Samples with start <= time <= end."""
        mask = (self.times >= start) & (self.times <= end)
        return StationTrace(
            self.times[mask],
            self.stations,
            self.queue[mask],
            self.busy[mask],
            self.capacity[mask],
            None if self.arrived is None else self.arrived[mask],
            None if self.service_mean is None else self.service_mean[mask],
            None if self.routed is None else self.routed[mask],
            None if self.machine_cycle is None else self.machine_cycle[mask],
        )

    def saturated(self) -> np.ndarray:
        """Boolean (times, stations): the station is working flat out or jobs are waiting.

        For a multi-server station this is the analogue of Roser's "active" state: it is neither
        starved (an idle server with nothing to do) nor partly idle. A station with work and no
        staff counts as saturated.
        """
        full = (self.busy >= self.capacity) & (self.capacity > 0)
        return (self.queue > 0) | full

    def utilization(self) -> np.ndarray:
        """Per-sample busy / capacity (0 where a station has no capacity)."""
        cap = np.where(self.capacity > 0, self.capacity, 1)
        return np.where(self.capacity > 0, self.busy / cap, 0.0)


def trace_from_snapshots(snapshots: Sequence[StationSnapshot]) -> StationTrace:
    """Align snapshots on their timestamps; a station missing at a time keeps its last state."""
    if not snapshots:
        raise ValueError("no snapshots")
    stations = tuple(sorted({s.station for s in snapshots}))
    times = np.array(sorted({s.at for s in snapshots}), dtype=float)
    col = {name: i for i, name in enumerate(stations)}
    row = {t: i for i, t in enumerate(times.tolist())}
    shape = (len(times), len(stations))
    queue = np.full(shape, -1, dtype=np.int64)
    busy = np.zeros(shape, dtype=np.int64)
    cap = np.zeros(shape, dtype=np.int64)
    arrived = np.zeros(shape, dtype=np.int64)
    routed = np.zeros(shape, dtype=np.int64)
    mean = np.zeros(shape)
    cycle = np.zeros(shape)
    for s in snapshots:
        r, c = row[s.at], col[s.station]
        queue[r, c], busy[r, c], cap[r, c] = s.queue, s.in_process, s.capacity
        arrived[r, c], mean[r, c], routed[r, c] = s.arrived, s.service_mean, s.routed
        cycle[r, c] = s.machine_cycle_s
    for r in range(1, len(times)):
        missing = queue[r] < 0
        for arr in (queue, busy, cap, arrived, mean, routed, cycle):
            arr[r, missing] = arr[r - 1, missing]
    queue[queue < 0] = 0
    known = bool((mean > 0).any())
    return StationTrace(
        times,
        stations,
        queue,
        busy,
        cap,
        arrived if known else None,
        mean if known else None,
        routed if bool((routed > 0).any()) else None,
        cycle if bool((cycle > 0).any()) else None,
    )
