"""What the relay writes when the LIMS has answered: one transaction per outbox row.

- accepted: the order gets ``lims_job_id`` and ``sent_to_lab_at`` and the row is sent, with an
  ``order.sent_to_lab`` event in both tenants' logs and an audit row in each.
- rejected (a final 4xx): the order goes ``on_hold`` (the system's transition, ``actor=None``)
  with the LIMS's reason, the row is failed, and ``order.status_changed`` is logged.
- not now (retryable): the row's attempts grow and its next attempt is scheduled.

Each returns the stored events, which the caller publishes after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ils.db import audit, outbox, tenants
from ils.db.database import Conn, Database
from ils.db.orders import update_status
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.domain.order_status import OrderState, OrderStatus, allowed_targets, transition
from ils.lims.client import Accepted
from ils.services.orders import append_order_events, order_summary

SYSTEM = {"system": "lims_relay"}


async def _audit_both(
    conn: Conn, row: dict[str, Any], now: datetime, action: str, details: dict[str, Any]
) -> None:
    for tenant_id in (row["practice_id"], row["lab_id"]):
        await audit.record(conn, tenant_id, now, None, action, row["id"], details)


async def accepted(
    db: Database, item: outbox.OutboxRow, answer: Accepted, now: datetime
) -> list[StoredEvent]:
    async with db.transaction() as conn:
        if not await outbox.mark_sent(conn, item.id, now):
            return []  # another relay finished this row first: it is sent, once
        order = await outbox.order_for_update(conn, item.order_id)
        assert order is not None  # the outbox row references it
        await tenants.lock_heads(conn, [order["practice_id"], order["lab_id"]])
        updated = await outbox.record_job(conn, item.order_id, answer.job_id, now)
        data = {
            "order": order_summary(updated),
            "lims_job_id": answer.job_id,
            "estimated_completion": answer.estimated_completion,
            "sent_to_lab_at": now.isoformat(),
        }
        event = NewEvent("order.sent_to_lab", Topic.ORDERS, now, data, item.order_id)
        stored = await append_order_events(conn, updated, [event])
        await _audit_both(conn, updated, now, "order.sent_to_lab", {"lims_job_id": answer.job_id})
    return stored


async def rejected(
    db: Database, item: outbox.OutboxRow, reason: str, status: int | None, now: datetime
) -> list[StoredEvent]:
    async with db.transaction() as conn:
        if not await outbox.mark_failed(conn, item.id, now, reason):
            return []
        order = await outbox.order_for_update(conn, item.order_id)
        assert order is not None
        await tenants.lock_heads(conn, [order["practice_id"], order["lab_id"]])
        state = OrderState(
            OrderStatus(order["status"]),
            OrderStatus(order["held_from"]) if order["held_from"] else None,
        )
        details = {"lims_status": status, "reason": reason}
        if OrderStatus.ON_HOLD not in allowed_targets(state, None):
            await _audit_both(conn, order, now, "order.lims_rejected", details)
            return []  # already held, or cancelled meanwhile: nothing to move
        held = transition(state, OrderStatus.ON_HOLD, None)
        updated = await update_status(
            conn,
            item.order_id,
            held.status,
            held.held_from,
            order["station"],
            order["delivered_at"],
            now,
        )
        data = {
            "order": order_summary(updated),
            "from": order["status"],
            "to": str(held.status),
            "reason": f"the lab's LIMS rejected the job: {reason}",
            "by": SYSTEM,
            "lims_rejection": details,
        }
        event = NewEvent("order.status_changed", Topic.ORDERS, now, data, item.order_id)
        stored = await append_order_events(conn, updated, [event])
        await _audit_both(conn, updated, now, "order.lims_rejected", details)
    return stored


async def later(
    db: Database, item: outbox.OutboxRow, at: datetime, error: str | None, count: bool = True
) -> None:
    async with db.transaction() as conn:
        await outbox.reschedule(conn, item.id, at, error, count)


async def abandoned(db: Database, item: outbox.OutboxRow, reason: str, now: datetime) -> None:
    """The order was cancelled before it could be sent: the row is failed, nothing is sent."""
    async with db.transaction() as conn:
        await outbox.mark_failed(conn, item.id, now, reason)
