"""Computed reports kept until the data under them changes.

A report (production KPIs, cost analysis) of a lab is a function of the lab's records, its cost
model and the day. Every change to those records appends an event to the lab's log, so the
log's head ``seq`` plus the cost model's ``updated_at`` plus today's date is a version of
everything a report reads: a cached report is served only while that version is unchanged, so a
figure is never stale. Each replica keeps its own bounded LRU; a miss simply recomputes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

Version = tuple[Hashable, ...]


class ReportCache:
    def __init__(self, capacity: int = 128) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, tuple[Version, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(
        self, key: Hashable, version: Version, compute: Callable[[], Awaitable[Any]]
    ) -> Any:
        found = self._items.get(key)
        if found is not None and found[0] == version:
            self._items.move_to_end(key)
            self.hits += 1
            return found[1]
        self.misses += 1
        value = await compute()
        self._items[key] = (version, value)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return value
