"""Signed webhook delivery from the simulated LIMS to ILS, with a real LIMS's bad habits.

Events are posted singly or in batches (``{"events": [...]}``), signed with ``ILS-Signature``,
retried on 5xx, 429 and transport errors with exponential backoff and full jitter (honouring
Retry-After), and, on request, delivered twice or out of order. The retry loop is written here
rather than taken from a retry library because it must also pause during a simulated outage and
count every attempt for the control endpoint; it is a dozen lines.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import numpy as np

from ils.lims.signature import sign
from ils.sim.outage import Outage

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class DeliveryConfig:
    url: str
    secret: bytes
    batch_size: int = 1  # 1: one event per request; more: {"events": [...]} batches
    flush_interval_s: float = 0.2
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    max_attempts: int = 12
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    timeout_s: float = 10.0


@dataclass
class DeliveryStats:
    events_queued: int = 0
    events_sent: int = 0
    requests: int = 0
    retries: int = 0
    duplicates_sent: int = 0
    reordered: int = 0
    events_rejected: int = 0
    events_dropped: int = 0
    events_abandoned: int = 0
    last_status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Item:
    event: dict[str, Any]
    duplicate: bool = False
    held: bool = False


class WebhookSender:
    def __init__(
        self,
        config: DeliveryConfig,
        client: httpx.AsyncClient,
        rng: np.random.Generator,
        outage: Outage | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.stats = DeliveryStats()
        self._client = client
        self._rng = rng
        self._outage = outage or Outage()
        self._clock = clock
        self._queue: deque[_Item] = deque()
        self._held: list[_Item] = []
        self._wake = asyncio.Event()
        self._closing = False

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._held)

    def enqueue(self, event: dict[str, Any]) -> None:
        """Called synchronously by the model for every event it emits."""
        self.stats.events_queued += 1
        self._queue.append(_Item(event))
        self._wake.set()

    async def run(self) -> None:
        """Deliver until ``close``; a batch being delivered (or retried) then is finished first.

        Cancelling the task instead drops the batch in hand: a LIMS that shuts down that way
        loses events, which is why ``close`` exists.
        """
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            if not self._closing:
                await asyncio.sleep(self.config.flush_interval_s)
            await self.flush()

    def close(self) -> None:
        """Let ``run`` deliver what it holds and return."""
        self._closing = True
        self._wake.set()

    def abandon(self) -> list[dict[str, Any]]:
        """Give up what is queued and not yet in a request: the events that were never delivered.

        The batch in hand is still finished. A repeat of an event already delivered (a simulated
        duplicate) is dropped without being returned: its event did arrive.
        """
        items = [*self._queue, *self._held]
        self._queue.clear()
        self._held.clear()
        never = [item.event for item in items if not item.duplicate]
        self.stats.events_abandoned += len(never)
        return never

    async def flush(self) -> None:
        """Deliver everything queued now, including held-back (reordered) events."""
        while self._queue or self._held:
            await self._outage.wait_over()
            batch = self._compose()
            if batch:
                await self._deliver(batch)

    def _compose(self) -> list[_Item]:
        fresh: list[_Item] = []
        while self._queue and len(fresh) < self.config.batch_size:
            fresh.append(self._queue.popleft())
        late, self._held = self._held, []
        batch: list[_Item] = []
        for item in fresh:
            if self._queue and not item.held and self._rng.random() < self.config.reorder_rate:
                item.held = True
                self._held.append(item)
                self.stats.reordered += 1
            else:
                batch.append(item)
        return batch + late

    async def _deliver(self, batch: list[_Item]) -> None:
        size = self.config.batch_size
        for i in range(0, len(batch), size):
            await self._send(batch[i : i + size])

    async def _send(self, batch: list[_Item]) -> None:
        events = [item.event for item in batch]
        payload: Any = events[0] if self.config.batch_size == 1 else {"events": events}
        body = json.dumps(payload, separators=(",", ":")).encode()
        status = await self._post_with_retries(body)
        if status is None:
            self.stats.events_dropped += len(batch)
            return
        if status >= 400:
            self.stats.events_rejected += len(batch)
            return
        self.stats.events_sent += len(batch)
        self.stats.duplicates_sent += sum(item.duplicate for item in batch)
        for item in batch:
            if not item.duplicate and self._rng.random() < self.config.duplicate_rate:
                self._queue.append(_Item(item.event, duplicate=True))

    async def _post_with_retries(self, body: bytes) -> int | None:
        for attempt in range(self.config.max_attempts):
            if attempt:
                self.stats.retries += 1
            await self._outage.wait_over()
            retry_after: float | None = None
            try:
                response = await self._post(body)
            except httpx.TransportError:
                status = None
            else:
                status = self.stats.last_status = response.status_code
                if status not in RETRYABLE_STATUS:
                    return status
                retry_after = _retry_after(response)
            await asyncio.sleep(self._backoff(attempt, retry_after))
        return None

    async def _post(self, body: bytes) -> httpx.Response:
        self.stats.requests += 1
        headers = {
            "Content-Type": "application/json",
            "ILS-Signature": sign(self.config.secret, body, int(self._clock())),
        }
        return await self._client.post(
            self.config.url, content=body, headers=headers, timeout=self.config.timeout_s
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
        delay = float(self._rng.uniform(0.0, cap))  # "full jitter"
        return max(delay, retry_after or 0.0)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return min(float(value), 300.0)
    except ValueError:
        return None
