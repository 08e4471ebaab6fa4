"""Audit rows for refused LIMS webhooks, bounded under a flood.

A refused webhook (bad or stale signature, oversize, malformed or invalid body) writes one
``webhook.rejected`` row on the lab's audit chain, in its own transaction, with the reason (the
problem code and detail) and never the body. So that a flood of bad webhooks cannot grow the
audit table without bound, at most one row is written per lab per reason per
:data:`WINDOW_S` seconds: the first refusal of a window takes a Redis ``SET NX EX`` gate, the
others are only counted in Redis. The audit chain is append-only (a written row cannot be
amended without breaking its hash), so the count travels in the next row for the same lab and
reason: ``details.suppressed`` is the number of refusals not written since the previous row.

Auditing is best effort: when Redis or PostgreSQL cannot be reached, the webhook is still
refused with its own problem, and the failure is logged.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ils.bus import Bus
from ils.db import audit, tenants
from ils.db.database import Database
from ils.errors import DependencyUnavailable, IlsError

log = logging.getLogger(__name__)

ACTION = "webhook.rejected"
WINDOW_S = 10
#: How long a count of unwritten refusals waits for the next row before Redis forgets it.
TALLY_TTL_S = 24 * 3600


class WebhookRejections:
    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus

    async def record(
        self, lab_id: str, error: IlsError, now: datetime, *, lab_known: bool = False
    ) -> bool:
        """Audit ``error`` for the lab unless this window already has a row; True if written.

        ``lab_known``: the caller already read the tenant and it is a lab. Otherwise it is read
        first, so refusals for ids that are no lab leave nothing in Redis either.
        """
        gate, tally = f"webhook:rejected:{lab_id}:{error.code}", f"webhook:suppressed:{lab_id}:"
        tally += error.code
        try:
            if not lab_known and not await self._is_lab(lab_id):
                return False
            if not await self.bus.first_in_window(gate, WINDOW_S):
                await self.bus.tally(tally, TALLY_TTL_S)
                return False
            suppressed = await self.bus.take_tally(tally)
            details = {"reason": error.code, "detail": error.detail, "suppressed": suppressed}
            details["window_s"] = WINDOW_S
            async with self.db.transaction() as conn:  # its own transaction
                await audit.record(conn, lab_id, now, None, ACTION, None, details)
        except DependencyUnavailable:
            log.warning("webhook refusal for lab %s not audited: %s", lab_id, error.code)
            return False
        return True

    async def _is_lab(self, lab_id: str) -> bool:
        async with self.db.connection() as conn:
            tenant = await tenants.get(conn, lab_id)
        return tenant is not None and tenant.kind == "lab"
