"""Computed reports kept until the data under them changes.

A report (production KPIs, cost analysis) of a lab is a function of the lab's records, its cost
model and the day. Every change to those records appends an event to the lab's log, so the
log's head ``seq`` plus the cost model's ``updated_at`` plus today's date is a version of
everything a report reads: a cached report is served while that version is unchanged. In a busy
lab the version moves with every event, so a report may also be served for ``max_age_s`` seconds
after it was computed (the report states when it was computed and from which log position).
Each replica keeps its own bounded LRU; a miss simply recomputes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

Version = tuple[Hashable, ...]


class ReportCache:
    def __init__(self, capacity: int = 128, max_age_s: float = 0.0) -> None:
        self.capacity = capacity
        self.max_age_s = max_age_s
        self._items: OrderedDict[Hashable, tuple[Version, float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(
        self, key: Hashable, version: Version, compute: Callable[[], Awaitable[Any]]
    ) -> Any:
        found = self._items.get(key)
        now = time.monotonic()
        if found is not None and (found[0] == version or now - found[1] < self.max_age_s):
            self._items.move_to_end(key)
            self.hits += 1
            return found[2]
        self.misses += 1
        value = await compute()
        self._items[key] = (version, now, value)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return value
