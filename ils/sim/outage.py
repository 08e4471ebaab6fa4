"""A chaos switch: make the simulated LIMS unavailable for a while, in one of three ways."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal

OutageMode = Literal["503", "hang", "reset"]
MODES: tuple[OutageMode, ...] = ("503", "hang", "reset")


class Outage:
    """``503`` answers Service Unavailable with Retry-After, ``hang`` holds requests until the
    outage ends, ``reset`` drops the connection mid-response. Webhook delivery pauses too: a LIMS
    that is down sends nothing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.mode: OutageMode | None = None
        self.until = 0.0

    def start(self, seconds: float, mode: OutageMode) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown outage mode {mode!r}")
        self.mode = mode
        self.until = self._clock() + max(0.0, seconds)

    def remaining(self) -> float:
        left = self.until - self._clock()
        if left <= 0:
            self.mode = None
            return 0.0
        return left

    def active(self) -> OutageMode | None:
        return self.mode if self.remaining() > 0 else None

    async def wait_over(self) -> None:
        # Polled, not an asyncio.Event: the control API may extend or shorten a running outage.
        while (left := self.remaining()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left, 0.5))
