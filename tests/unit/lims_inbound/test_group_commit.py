"""Group commit: waiting requests share a transaction; a breaking request fails only itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ils.services.group_commit import Committed, GroupCommit


class Ledger:
    """Commits groups of integer items; refuses a group holding a negative one."""

    def __init__(self) -> None:
        self.groups: list[list[list[int]]] = []
        self.gate = asyncio.Event()
        self.published: list[int] = []

    async def commit(self, key: str, parts: list[Sequence[int]]) -> Committed[int]:
        await self.gate.wait()
        if any(x < 0 for part in parts for x in part):
            raise ValueError("negative")
        self.groups.append([list(p) for p in parts])

        async def after() -> None:
            self.published.extend(x for part in parts for x in part)

        return [sum(p) for p in parts], after()


async def test_requests_arriving_during_a_transaction_share_the_next_one() -> None:
    ledger = Ledger()
    groups: GroupCommit[int, int] = GroupCommit(ledger.commit)
    first = asyncio.create_task(groups.submit("lab", [1]))
    await asyncio.sleep(0)  # the first transaction has started (waiting on the gate)
    rest = [asyncio.create_task(groups.submit("lab", [k, k])) for k in (2, 3, 4)]
    await asyncio.sleep(0)
    ledger.gate.set()
    assert await first == 1
    assert [await r for r in rest] == [4, 6, 8]
    assert ledger.groups == [[[1]], [[2, 2], [3, 3], [4, 4]]]
    assert ledger.published == [1, 2, 2, 3, 3, 4, 4]  # answered only after the work after commit


async def test_a_failing_group_is_retried_part_by_part() -> None:
    ledger = Ledger()
    groups: GroupCommit[int, int] = GroupCommit(ledger.commit)
    blocker = asyncio.create_task(groups.submit("lab", [0]))
    await asyncio.sleep(0)
    good, bad = groups.submit("lab", [5]), groups.submit("lab", [-1])
    tasks = [asyncio.create_task(good), asyncio.create_task(bad)]
    await asyncio.sleep(0)
    ledger.gate.set()
    await blocker
    assert await tasks[0] == 5
    with pytest.raises(ValueError, match="negative"):
        await tasks[1]
    assert ledger.groups == [[[0]], [[5]]]


async def test_keys_do_not_wait_for_each_other_and_groups_are_bounded() -> None:
    ledger = Ledger()
    ledger.gate.set()
    groups: GroupCommit[int, int] = GroupCommit(ledger.commit, max_items=4)
    answers = await asyncio.gather(
        *(groups.submit("a", [1, 1, 1]) for _ in range(3)), groups.submit("b", [7])
    )
    assert answers == [3, 3, 3, 7]
    assert all(sum(len(p) for p in g) <= 4 for g in ledger.groups)
