"""Group commit: requests for the same key that arrive while its transaction runs go together.

Every webhook of a lab locks the lab's log head, so one transaction per request serialises the
lab's requests on that lock (each holding it for several round trips and a WAL flush). Here the
first request of a key starts its transaction at once; requests arriving meanwhile wait and then
share the next one. Under load a transaction carries many requests; alone, a request waits for
nobody.

Decisions:

- A group is committed by one call of ``commit(key, parts)``, which answers one result per part
  and an awaitable of the work after the commit (the publish); a part's caller is answered once
  that work is done, but the next group of the key does not wait for it.
- If a group's transaction fails, each of its parts is retried alone, so a request that breaks
  a transaction fails only itself.
- A group holds at most ``max_items`` items (parts are never split).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: What committing a group answers: one result per part, and the work after the commit.
Committed = tuple[list[R], Awaitable[None]]


@dataclass
class _Part(Generic[T, R]):
    items: Sequence[T]
    answer: asyncio.Future[R] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        commit: Callable[[str, list[Sequence[T]]], Awaitable[Committed[R]]],
        max_items: int = 1000,
    ) -> None:
        self.commit = commit
        self.max_items = max_items
        self._waiting: dict[str, list[_Part[T, R]]] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._after: set[asyncio.Task[None]] = set()

    async def submit(self, key: str, items: Sequence[T]) -> R:
        """Commit ``items`` with whatever else of ``key`` is waiting; this part's result."""
        part: _Part[T, R] = _Part(items)
        self._waiting.setdefault(key, []).append(part)
        if key not in self._runners:
            self._runners[key] = asyncio.get_running_loop().create_task(
                self._run(key), name=f"group-commit:{key}"
            )
        return await part.answer

    def _take(self, key: str) -> list[_Part[T, R]]:
        waiting = self._waiting[key]
        group: list[_Part[T, R]] = []
        size = 0
        while waiting and (not group or size + len(waiting[0].items) <= self.max_items):
            part = waiting.pop(0)
            group.append(part)
            size += len(part.items)
        if not waiting:
            del self._waiting[key]
        return group

    async def _run(self, key: str) -> None:
        try:
            while key in self._waiting:
                group = self._take(key)
                try:
                    await self._commit(key, group)
                except Exception as exc:
                    if len(group) == 1:
                        _fail(group[0], exc)
                        continue
                    log.warning("a group of %d requests of %s failed; each alone", len(group), key)
                    for part in group:
                        try:
                            await self._commit(key, [part])
                        except Exception as alone:
                            _fail(part, alone)
        finally:
            self._runners.pop(key, None)

    async def _commit(self, key: str, group: list[_Part[T, R]]) -> None:
        results, after = await self.commit(key, [p.items for p in group])
        task = asyncio.ensure_future(after)
        self._after.add(task)

        def answer(done: asyncio.Task[None]) -> None:
            self._after.discard(done)
            if not done.cancelled() and done.exception() is not None:
                log.warning("after the commit of %s", key, exc_info=done.exception())
            for part, result in zip(group, results, strict=True):
                if not part.answer.done():
                    part.answer.set_result(result)

        task.add_done_callback(answer)


def _fail(part: _Part[T, R], exc: Exception) -> None:
    if not part.answer.done():
        part.answer.set_exception(exc)
