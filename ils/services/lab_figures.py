"""Keeps a lab's order facts and daily sums current with its committed event log.

Before a report is read, :meth:`LabFigures.current` compares the lab's log head with the seq its
figures are current to. When the log moved on, it locks the lab's figure head, recomputes the
facts of every order the new events name (and of the orders those remake) from the lab's records,
adds ``contributions(new) - contributions(old)`` to the daily sums, and records the new seq, in
one transaction. Recomputing an order is idempotent (its facts are read whole from the records),
so a catch-up that reads records newer than its seq only anticipates the next one. A lab whose
figures were never built is built whole from its records (the first read after migration 0010,
or after a bulk load).

A record written without any event naming its order (none of the ILS write paths does this; a
LIMS station movement that moves no order is one) is counted at the next event of that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ils.analytics.order_facts import Sums, change, fold
from ils.db import lab_figures
from ils.db.database import Conn, Database
from ils.services.ports import Clock

CHUNK = 2000


@dataclass(frozen=True)
class CatchUp:
    """What one call to :meth:`LabFigures.current` did."""

    seq: int
    orders: int
    rebuilt: bool


class LabFigures:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def current(self, lab_id: str) -> CatchUp:
        """Bring the lab's figures up to its committed log head; the seq they are current to."""
        async with self.db.connection() as conn:
            head, seq = await lab_figures.position(conn, lab_id)
        if seq is not None and seq >= head:
            return CatchUp(seq, 0, False)
        now = self.clock()
        async with self.db.transaction() as conn:
            seq = await lab_figures.lock_figures(conn, lab_id, now)
            head = await lab_figures.log_head(conn, lab_id)
            if seq is not None and seq >= head:
                return CatchUp(seq, 0, False)
            if seq is None:
                ids = await lab_figures.lab_orders(conn, lab_id)
            else:
                ids = await lab_figures.touched(conn, lab_id, seq, head)
            await refresh(conn, lab_id, ids)
            await lab_figures.set_head(conn, lab_id, head, now)
        return CatchUp(head, len(ids), seq is None)


async def refresh(conn: Conn, lab_id: str, order_ids: Sequence[str]) -> Sums:
    """Recompute the facts of ``order_ids`` from the records and move the sums by the change."""
    total: Sums = {}
    for i in range(0, len(order_ids), CHUNK):
        chunk = order_ids[i : i + CHUNK]
        old = await lab_figures.stored_facts(conn, lab_id, chunk)
        new = await lab_figures.raw_facts(conn, lab_id, chunk)
        fold((change(old.get(o), new.get(o)) for o in chunk), total)
        await lab_figures.save_facts(conn, lab_id, list(new.values()))
    await lab_figures.add_sums(conn, lab_id, total)
    return total
