"""BottleneckModel: the per-lab streaming detector state that the BottleneckModel actor holds.

It keeps a bounded history of station snapshots (minutes on the caller's clock), answers the
current constraint (with ``since`` carried across calls) and the utilisation series.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import numpy as np

from ils.analytics.bottleneck.detection import Detection, detect
from ils.analytics.bottleneck.trace import StationSnapshot, trace_from_snapshots
from ils.analytics.bottleneck.utilization import UtilizationSeries, utilization_series


class BottleneckModel:
    def __init__(
        self, window_min: float = 15.0, lookback_min: float = 225.0, keep_min: float = 24 * 60.0
    ) -> None:
        self.window_min, self.lookback_min, self.keep_min = window_min, lookback_min, keep_min
        self.snapshots: deque[StationSnapshot] = deque()
        self.last: Detection | None = None

    def observe(self, snapshots: Iterable[StationSnapshot]) -> None:
        for s in snapshots:
            self.snapshots.append(s)
        if self.snapshots:
            oldest = self.snapshots[-1].at - self.keep_min
            while self.snapshots and self.snapshots[0].at < oldest:
                self.snapshots.popleft()

    def current(self, rng: np.random.Generator) -> Detection:
        """The constraint over the last window, with the look-back before it (see ``detect``)."""
        if not self.snapshots:
            return Detection(None, 0.0, 0.0, evidence={"reason": "no snapshots"})
        now = self.snapshots[-1].at
        recent = [s for s in self.snapshots if s.at >= now - self.window_min - self.lookback_min]
        found = detect(trace_from_snapshots(recent), rng, score_from=now - self.window_min)
        since = now
        if self.last is not None and self.last.station == found.station:
            since = self.last.since if self.last.since is not None else now
        self.last = Detection(
            found.station, now, found.confidence, found.shifting_with, since, found.evidence
        )
        return self.last

    def utilization(self, bucket_min: float) -> UtilizationSeries:
        return utilization_series(trace_from_snapshots(list(self.snapshots)), bucket_min)
