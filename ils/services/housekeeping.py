"""Background upkeep that keeps reads cheap: each lab's figures brought up to its log.

A metrics read catches the lab's figures up with its log before answering
(:class:`ils.services.lab_figures.LabFigures`); without upkeep that catch-up grows with the time
since the last read (half a day of a large lab's events is a few hundred milliseconds). Every
``every_s`` seconds ``Housekeeping`` catches up every lab whose log moved, so a read only ever
finds the last few seconds to add. One lab's failure is logged and never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from ils.db import lab_figures
from ils.db.database import Database
from ils.services.lab_figures import LabFigures

log = logging.getLogger(__name__)


@dataclass
class UpkeepStats:
    rounds: int = 0
    labs_caught_up: int = 0
    orders_refreshed: int = 0
    failures: int = 0
    last_error: str | None = field(default=None)


class Housekeeping:
    def __init__(self, db: Database, figures: LabFigures, every_s: float = 10.0) -> None:
        self.db = db
        self.figures = figures
        self.every_s = every_s
        self.stats = UpkeepStats()

    async def once(self) -> list[str]:
        """Catch up every lab that is behind; the labs caught up."""
        async with self.db.connection() as conn:
            labs = await lab_figures.behind(conn)
        done = []
        for lab_id in labs:
            try:
                caught = await self.figures.current(lab_id)
            except Exception as exc:
                self.stats.failures += 1
                self.stats.last_error = f"{lab_id}: {exc}"
                log.warning("figures of lab %s not caught up", lab_id, exc_info=True)
                continue
            self.stats.orders_refreshed += caught.orders
            done.append(lab_id)
        self.stats.rounds += 1
        self.stats.labs_caught_up += len(done)
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Round after round until ``stop``; a failed round is logged and the loop goes on."""
        while not stop.is_set():
            try:
                await self.once()
            except Exception:
                log.exception("housekeeping round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)
