"""The report cache: served while the data version holds or the report is young enough."""

from __future__ import annotations

from ils.services.report_cache import ReportCache


async def test_a_report_is_recomputed_when_its_version_moves() -> None:
    cache = ReportCache(capacity=2)
    calls: list[int] = []

    async def compute() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    assert await cache.get("k", (1,), compute) == {"n": 1}
    assert await cache.get("k", (1,), compute) == {"n": 1}
    assert await cache.get("k", (2,), compute) == {"n": 2}
    await cache.get("a", (1,), compute)
    await cache.get("b", (1,), compute)  # evicts "k", the least recently used
    assert await cache.get("k", (2,), compute) == {"n": 5}
    assert (cache.hits, cache.misses) == (1, 5)


async def test_a_young_report_is_served_while_events_arrive() -> None:
    cache = ReportCache(max_age_s=3600)
    calls: list[int] = []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    assert await cache.get("k", (1,), compute) == 1
    assert await cache.get("k", (7,), compute) == 1
    assert await ReportCache(capacity=0).get("k", (1,), compute) == 2
