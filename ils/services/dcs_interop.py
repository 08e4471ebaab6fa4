"""DCS interop: import VCA DCS records as orders (lab side) and export an order as DCS.

An import is made by a lab admin for the practices linked to the lab; each record names its
practice with ``_PRACTICE=<practice tenant id>``. Every record is parsed and validated before any
is created, so a body with one bad record creates nothing. The orders are then created through
:class:`ils.services.orders.Orders` as if the practice had placed them (same events, outbox row
and audit rows), attributed to the lab admin who imported them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ils.db import tenants
from ils.db.database import Database
from ils.domain.access import Permission, Principal, Role, TenantKind
from ils.domain.dcs import DcsError, format_order, order_body, parse_records
from ils.domain.order import OrderDraft
from ils.errors import FieldIssue, ValidationFailed
from ils.services.lims import require_lab
from ils.services.orders import Orders


def _pointer(index: int, loc: tuple[Any, ...] | list[Any]) -> str:
    return f"/records/{index}" + "".join(f"/{part}" for part in loc)


def _draft(record: dict[str, str], index: int, lab_id: str) -> tuple[str, OrderDraft]:
    try:
        body = order_body(record, index)
    except DcsError as exc:
        raise ValidationFailed(
            [FieldIssue(f"/records/{exc.record}/{exc.label}", "dcs-invalid", exc.detail)]
        ) from None
    practice_id = body.pop("practice_id")
    try:
        uuid.UUID(str(practice_id))
    except ValueError:
        issue = FieldIssue(
            _pointer(index, ["_PRACTICE"]), "practice-required", "_PRACTICE=<practice id>"
        )
        raise ValidationFailed([issue]) from None
    try:
        draft = OrderDraft.model_validate({**body, "lab_id": lab_id})
    except ValidationError as exc:
        issues = [
            FieldIssue(_pointer(index, e["loc"]), e["type"].replace("_", "-"), e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed(issues) from None
    return str(practice_id), draft


class DcsInterop:
    def __init__(self, db: Database, orders: Orders) -> None:
        self.db = db
        self.orders = orders

    async def import_text(
        self, principal: Principal, text: str, now: datetime
    ) -> list[dict[str, Any]]:
        principal.require(Permission.ORDERS_IMPORT)
        require_lab(principal)
        try:
            records = parse_records(text)
        except DcsError as exc:
            pointer = f"/records/{exc.record}"
            raise ValidationFailed([FieldIssue(pointer, "dcs-invalid", str(exc))]) from None
        drafts = [_draft(r, i, principal.tenant_id) for i, r in enumerate(records)]
        await self._check(principal.tenant_id, drafts)
        created = []
        for practice_id, draft in drafts:
            on_behalf = Principal(
                principal.user_id, practice_id, TenantKind.PRACTICE, Role.ECP, principal.email
            )
            _, view = await self.orders.create(on_behalf, draft, now)
            created.append(view)
        return created

    async def _check(self, lab_id: str, drafts: list[tuple[str, OrderDraft]]) -> None:
        """Every practice linked to this lab and every order valid, before anything is created."""
        issues: list[FieldIssue] = []
        async with self.db.connection() as conn:
            for index, (practice_id, draft) in enumerate(drafts):
                if not await tenants.linked(conn, lab_id, practice_id):
                    issues.append(
                        FieldIssue(
                            _pointer(index, ["_PRACTICE"]),
                            "practice-not-linked",
                            "no practice linked to this lab has that id",
                        )
                    )
                for error in self.orders.validate(draft).errors:
                    issues.append(
                        FieldIssue(f"/records/{index}{error.pointer}", error.code, error.detail)
                    )
        if issues:
            raise ValidationFailed(issues)

    async def export(self, principal: Principal, order_id: str) -> str:
        return format_order(await self.orders.get(principal, order_id))
