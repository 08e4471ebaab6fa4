"""Order use-cases: validate, create (idempotent), read, list, transition, timeline.

Every change follows the write path of ARCHITECTURE.md: one transaction writes the order, its
events in both tenants' logs (practice and lab), the audit rows and the outbox row; the events are
published only after commit.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from ils.db import audit, events, orders, tenants
from ils.db.database import Conn, Database, is_unique_violation
from ils.domain.access import Permission, Principal, TenantKind
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.domain.order import OrderDraft
from ils.domain.order_status import OrderState, OrderStatus, allowed_targets, transition
from ils.domain.rx import to_minus_cylinder
from ils.domain.validation import ValidationResult, validate_order
from ils.errors import FieldIssue, IdempotencyKeyReused, NotFound, ValidationFailed
from ils.services.ports import Publisher, publish_committed

SCOPE_CREATE = "orders.create"
MAX_LIMIT = 500


def order_view(row: dict[str, Any]) -> dict[str, Any]:
    """The order response of API.md: the body as entered plus ILS's fields."""
    return {
        "id": row["id"],
        "order_number": row["order_number"],
        "practice_id": row["practice_id"],
        "lab_id": row["lab_id"],
        "patient_ref": row["patient_ref"],
        "due_date": row["due_date"],
        "priority": row["priority"],
        "rx": row["rx"],
        "rx_minus_cylinder": row["rx_minus_cyl"],
        "lens": row["lens"],
        "frame": row["frame"],
        "clinical_notes": row["clinical_notes"],
        "warnings": row["warnings"],
        "status": row["status"],
        "held_from": row["held_from"],
        "station": row["station"],
        "remake_of": row["remake_of"],
        "lims_job_id": row["lims_job_id"],
        "sent_to_lab_at": row["sent_to_lab_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


def order_summary(row: dict[str, Any]) -> dict[str, Any]:
    """What an order event carries: enough for a screen to update its row without a reload."""
    return {
        "id": row["id"],
        "order_number": row["order_number"],
        "practice_id": row["practice_id"],
        "lab_id": row["lab_id"],
        "status": row["status"],
        "station": row["station"],
        "priority": row["priority"],
        "due_date": str(row["due_date"]) if row["due_date"] else None,
        "lens_type": row["lens"].get("type"),
        "remake_of": row["remake_of"],
        "lims_job_id": row["lims_job_id"],
        "version": row["version"],
        "updated_at": row["updated_at"].isoformat(),
        "created_at": row["created_at"].isoformat(),  # cycle time in the analytics rollups
    }


def request_hash(draft: OrderDraft) -> bytes:
    return hashlib.sha256(draft.model_dump_json().encode()).digest()


async def append_order_events(
    conn: Conn, row: dict[str, Any], new: list[NewEvent]
) -> list[StoredEvent]:
    """Append the same order events to the practice's and the lab's logs (heads already locked)."""
    return await events.append_many(conn, {row["practice_id"]: new, row["lab_id"]: new})


class Orders:
    def __init__(self, db: Database, publisher: Publisher) -> None:
        self.db = db
        self.publisher = publisher

    def validate(self, draft: OrderDraft) -> ValidationResult:
        return validate_order(draft)

    async def create(
        self,
        principal: Principal,
        draft: OrderDraft,
        now: datetime,
        idempotency_key: str | None = None,
        remake_of: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        principal.require(Permission.ORDERS_CREATE)
        result = validate_order(draft)
        if result.errors:
            raise ValidationFailed(list(result.errors))
        digest = request_hash(draft)
        try:
            return await self._create(
                principal, draft, result, now, idempotency_key, digest, remake_of
            )
        except Exception as exc:
            if idempotency_key and is_unique_violation(exc):
                # A concurrent request with the same key committed first: answer as it did.
                async with self.db.connection() as conn:
                    record = await orders.claim_idempotency_key(
                        conn, principal.tenant_id, SCOPE_CREATE, idempotency_key, digest, now
                    )
                if record is not None:
                    return self._replay(record, digest)
            raise

    @staticmethod
    def _replay(record: dict[str, Any], digest: bytes) -> tuple[int, dict[str, Any]]:
        if bytes(record["request_hash"]) != digest:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
        return int(record["status"]), dict(record["response"])

    async def _create(
        self,
        principal: Principal,
        draft: OrderDraft,
        result: ValidationResult,
        now: datetime,
        idempotency_key: str | None,
        digest: bytes,
        remake_of: str | None,
    ) -> tuple[int, dict[str, Any]]:
        lab_id, practice_id = str(draft.lab_id), principal.tenant_id
        async with self.db.transaction() as conn:
            if idempotency_key:
                record = await orders.claim_idempotency_key(
                    conn, practice_id, SCOPE_CREATE, idempotency_key, digest, now
                )
                if record is not None:
                    return self._replay(record, digest)
            if not await tenants.linked(conn, lab_id, practice_id):
                raise ValidationFailed(
                    [
                        FieldIssue(
                            "/lab_id",
                            "lab-not-linked",
                            "this practice does not order from that lab",
                        )
                    ]
                )
            heads = await tenants.lock_heads(conn, [practice_id, lab_id])
            number = await tenants.next_order_number(conn, practice_id)
            body = draft.model_dump(mode="json")
            row = {
                **body,
                "id": str(uuid.uuid4()),
                "practice_id": practice_id,
                "lab_id": lab_id,
                "order_number": f"PO-{now:%y%m}-{number:06d}",
                "due_date": draft.due_date,
                "rx_minus_cyl": to_minus_cylinder(draft.rx).model_dump(mode="json"),
                "warnings": [w.as_dict() for w in result.warnings],
                "remake_of": remake_of,
            }
            await orders.insert(conn, row, principal.user_id, now)
            stored_row = await orders.get_visible(conn, row["id"], practice_id)
            assert stored_row is not None
            view = order_view(stored_row)
            new = [
                NewEvent(
                    "order.created",
                    Topic.ORDERS,
                    now,
                    {"order": order_summary(stored_row)},
                    stored_row["id"],
                )
            ]
            stored = await append_order_events(conn, stored_row, new)
            await orders.enqueue(
                conn, lab_id, row["id"], "submit_job", {"order_id": row["id"]}, now
            )
            for tenant_id in (practice_id, lab_id):
                await audit.append(
                    conn,
                    heads[tenant_id],
                    now,
                    principal.user_id,
                    "order.created",
                    row["id"],
                    {"order_number": row["order_number"]},
                )
            if idempotency_key:
                await orders.store_idempotent_response(
                    conn, practice_id, SCOPE_CREATE, idempotency_key, 201, view
                )
        await publish_committed(self.publisher, stored)
        return 201, view

    async def get(self, principal: Principal, order_id: str) -> dict[str, Any]:
        principal.require(Permission.ORDERS_READ)
        async with self.db.connection() as conn:
            row = await orders.get_visible(conn, order_id, principal.tenant_id)
        if row is None:
            raise NotFound("no such order")
        return order_view(row)

    async def list_orders(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        station: str | None = None,
        practice_id: str | None = None,
        updated_since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        principal.require(Permission.ORDERS_READ)
        after = None
        if cursor:
            try:
                after = orders.decode_cursor(cursor)
            except (ValueError, TypeError):
                raise ValidationFailed(
                    [FieldIssue("/cursor", "cursor-invalid", "not a cursor from this API")]
                ) from None
        async with self.db.connection() as conn:
            rows = await orders.page(
                conn,
                principal.tenant_id,
                status=status,
                station=station,
                practice_id=practice_id,
                updated_since=updated_since,
                after=after,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = orders.encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return {"items": [order_view(r) for r in rows], "next_cursor": next_cursor}

    async def timeline(self, principal: Principal, order_id: str) -> list[dict[str, Any]]:
        principal.require(Permission.ORDERS_READ)
        async with self.db.connection() as conn:
            if await orders.get_visible(conn, order_id, principal.tenant_id) is None:
                raise NotFound("no such order")
            log = await events.for_order(conn, principal.tenant_id, order_id)
        return [{"seq": e.seq, **e.wire()} for e in log]

    async def transition(
        self,
        principal: Principal,
        order_id: str,
        to: str,
        reason: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        principal.require(Permission.ORDERS_TRANSITION)
        async with self.db.transaction() as conn:
            row = await orders.get_visible(conn, order_id, principal.tenant_id, for_update=True)
            if row is None:
                raise NotFound("no such order")
            heads = await tenants.lock_heads(conn, [row["practice_id"], row["lab_id"]])
            state = OrderState(
                OrderStatus(row["status"]),
                OrderStatus(row["held_from"]) if row["held_from"] else None,
            )
            new_state = transition(state, OrderStatus(to), principal.actor)
            delivered = now if new_state.status is OrderStatus.COMPLETED else row["delivered_at"]
            if new_state.status is OrderStatus.PENDING and row["lims_job_id"] is None:
                # Released from a hold before the LIMS took the job (for example after the LIMS
                # refused it): submit it again, once.
                await orders.resubmit(conn, row["lab_id"], order_id, now)
            updated = await orders.update_status(
                conn,
                order_id,
                new_state.status,
                new_state.held_from,
                row["station"],
                delivered,
                now,
            )
            data = {
                "order": order_summary(updated),
                "from": row["status"],
                "to": str(new_state.status),
                "reason": reason,
                "by": {"tenant_kind": str(principal.tenant_kind), "role": str(principal.role)},
            }
            stored = await append_order_events(
                conn, updated, [NewEvent("order.status_changed", Topic.ORDERS, now, data, order_id)]
            )
            for tenant_id in (updated["practice_id"], updated["lab_id"]):
                await audit.append(
                    conn,
                    heads[tenant_id],
                    now,
                    principal.user_id,
                    "order.transition",
                    order_id,
                    {"from": row["status"], "to": str(new_state.status), "reason": reason},
                )
        await publish_committed(self.publisher, stored)
        return order_view(updated)

    def allowed(self, principal: Principal, row: dict[str, Any]) -> list[str]:
        state = OrderState(
            OrderStatus(row["status"]), OrderStatus(row["held_from"]) if row["held_from"] else None
        )
        return sorted(str(s) for s in allowed_targets(state, principal.actor))


def require_practice(principal: Principal) -> None:
    if principal.tenant_kind is not TenantKind.PRACTICE:
        raise ValidationFailed([FieldIssue("", "practice-only", "only a practice places orders")])
