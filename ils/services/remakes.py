"""Returns, non-adapts and remakes: linked records and a new order; the original never reopens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ils.db import audit, events, orders, tenants
from ils.db.database import Database
from ils.domain.access import Permission, Principal
from ils.domain.event import NewEvent, Topic
from ils.domain.order import OrderDraft
from ils.domain.remake import RemakeCategory, WarrantyPolicy, check_eligible, parse_category
from ils.domain.role import Role, TenantKind
from ils.errors import NotFound
from ils.services.orders import Orders, order_summary
from ils.services.ports import Publisher, publish_committed
from ils.settings import Settings


def _draft_from(row: dict[str, Any]) -> OrderDraft:
    """The original order's body, as a new draft for its remake."""
    return OrderDraft.model_validate(
        {
            "lab_id": row["lab_id"],
            "patient_ref": row["patient_ref"],
            "due_date": row["due_date"],
            "priority": "rush",
            "rx": row["rx"],
            "lens": row["lens"],
            "frame": row["frame"],
            "clinical_notes": row["clinical_notes"],
        }
    )


class Remakes:
    def __init__(
        self, db: Database, publisher: Publisher, orders_service: Orders, settings: Settings
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.orders = orders_service
        self.settings = settings

    async def file(
        self,
        principal: Principal,
        order_id: str,
        kind: str,
        category: str,
        reason: str,
        symptoms: list[str],
        notes: str | None,
        remake: bool,
        now: datetime,
    ) -> dict[str, Any]:
        """Record a return or non-adapt on a delivered order; optionally create its remake."""
        principal.require(Permission.ORDERS_ISSUE)
        parsed = RemakeCategory.NON_ADAPT if kind == "non_adapt" else parse_category(category)
        async with self.db.connection() as conn:
            row = await orders.get_visible(conn, order_id, principal.tenant_id)
            if row is None:
                raise NotFound("no such order")
            lab = await tenants.get(conn, row["lab_id"])
        check_eligible(row["status"])
        policy = WarrantyPolicy.from_settings(
            lab.settings if lab else {},
            self.settings.non_adapt_window_days,
            self.settings.lab_error_window_days,
        )
        covered = policy.covers(parsed, row["delivered_at"], now)
        remake_view = None
        if remake:
            remake_view = await self._remake(principal, row, now)
        issue = {
            "id": str(uuid.uuid4()),
            "order_id": order_id,
            "practice_id": row["practice_id"],
            "lab_id": row["lab_id"],
            "kind": kind,
            "category": str(parsed),
            "reason": reason,
            "symptoms": symptoms,
            "notes": notes,
            "within_warranty": covered,
            "remake_order_id": remake_view["id"] if remake_view else None,
            "created_by": principal.user_id,
            "created_at": now,
        }
        async with self.db.transaction() as conn:
            await tenants.lock_heads(conn, [row["practice_id"], row["lab_id"]])
            await orders.insert_issue(conn, issue)
            data = {
                "issue": {
                    k: issue[k]
                    for k in (
                        "id",
                        "kind",
                        "category",
                        "reason",
                        "within_warranty",
                        "remake_order_id",
                    )
                },
                "order": order_summary(row),
            }
            stored = []
            for tenant_id in (row["practice_id"], row["lab_id"]):
                stored += await events.append(
                    conn,
                    tenant_id,
                    [NewEvent(f"order.{kind}_filed", Topic.ORDERS, now, data, order_id)],
                )
                await audit.record(
                    conn,
                    tenant_id,
                    now,
                    principal.user_id,
                    f"order.{kind}",
                    order_id,
                    {"category": str(parsed), "issue_id": issue["id"]},
                )
        await publish_committed(self.publisher, stored)
        return {**issue, "remake_order": remake_view}

    async def _remake(
        self, principal: Principal, row: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """A new pending order linked to the original, placed on the practice's behalf."""
        practice_side = Principal(
            user_id=principal.user_id,
            tenant_id=row["practice_id"],
            tenant_kind=TenantKind.PRACTICE,
            role=Role.ECP,
            email=principal.email,
        )
        _, view = await self.orders.create(
            practice_side, _draft_from(row), now, idempotency_key=None, remake_of=row["id"]
        )
        return view

    async def remake(
        self, principal: Principal, order_id: str, category: str, reason: str, now: datetime
    ) -> dict[str, Any]:
        """A remake without a return record (a lab error found at the lab, a practice change)."""
        return await self.file(principal, order_id, "return", category, reason, [], None, True, now)
