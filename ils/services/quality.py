"""Quality use-cases: final inspections, QA failures and root-cause analyses.

``record_inspection`` is the one place an inspection is judged and stored; the API route and the
LIMS webhook (``job.inspection``) both call it inside their own transaction and append the events
it returns to both tenants' logs. A failed verdict also records a QA failure. Only the API route
moves the order itself (quality_check -> in_production, never forward); the webhook handler moves
the order by its own event rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ils.db import audit, events, orders, quality, tenants
from ils.db.database import Conn, Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.domain.inspection import (
    EYES,
    EyePowers,
    eye_powers_from_dict,
    final_inspection,
    measurement_from_dict,
)
from ils.domain.order_status import OrderState, OrderStatus, transition
from ils.domain.rca import RcaCategory, RcaFacts, RcaStatus, advance, needs_approval
from ils.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from ils.services.orders import append_order_events, order_summary
from ils.services.ports import Publisher, publish_committed

INSPECTABLE = frozenset({OrderStatus.IN_PRODUCTION, OrderStatus.QUALITY_CHECK})
FAILED_INSPECTION = "failed-final-inspection"


def ordered_eyes(rx: dict[str, Any]) -> dict[str, EyePowers]:
    """The order's prescription as the inspection reads it (eyes that were ordered)."""
    return {
        eye: eye_powers_from_dict(rx[eye], f"/rx/{eye}") for eye in EYES if rx.get(eye) is not None
    }


def inspection_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "pass": row["pass"],
        "fields": row["fields"],
        "lims_pass": row["lims_pass"],
        "source": row["source"],
        "inspected_at": row["inspected_at"],
        "qa_failure_id": row.get("qa_failure_id"),
    }


async def record_inspection(
    conn: Conn,
    lab_id: str,
    order_row: dict[str, Any],
    measured: dict[str, Any],
    lims_pass: bool | None,
    now: datetime,
    *,
    source: str = "lims",
    inspected_by: str | None = None,
) -> tuple[dict[str, Any], list[NewEvent]]:
    """Judge ``measured`` against the order (ANSI Z80.1), store it, and record a QA failure.

    Call inside the caller's transaction with the tenants' heads locked. Returns the inspection
    view (``pass`` is ILS's verdict; ``lims_pass`` what the LIMS said) and the events to append
    to BOTH tenants' logs: ``inspection.recorded`` and, on failure, ``qa.failure_recorded``. It
    does not move the order. Raises ``ValidationFailed`` (pointers under ``/measured``) for
    impossible measurements; nothing is stored then (the caller's transaction rolls back).
    """
    eyes, prism = measurement_from_dict(measured)
    verdict = final_inspection(
        ordered_eyes(order_row["rx"]), eyes, order_row["lens"]["type"], prism
    )
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "lab_id": lab_id,
        "order_id": order_row["id"],
        "source": source,
        "measured": measured,
        "lims_pass": lims_pass,
        "pass": verdict.passed,
        "fields": verdict.as_dict()["fields"],
        "inspected_by": inspected_by,
        "inspected_at": now,
        "qa_failure_id": None,
    }
    await quality.insert_inspection(conn, row)
    view = inspection_view(row)
    new = [NewEvent("inspection.recorded", Topic.ORDERS, now, _event_body(view), row["order_id"])]
    if not verdict.passed:
        failure = _inspection_failure(row, [f.pointer for f in verdict.failures()], inspected_by)
        await quality.insert_failure(conn, failure)
        view["qa_failure_id"] = failure["id"]
        body = {"failure": _failure_event(failure)}
        new.append(NewEvent("qa.failure_recorded", Topic.ORDERS, now, body, row["order_id"]))
    return view, new


async def record_lims_inspections(
    conn: Conn, lab_id: str, records: Sequence[Mapping[str, Any]], now: datetime
) -> list[NewEvent]:
    """QA failures for the LIMS inspections that failed ILS's own Z80.1 verdict, and the jobs
    sent back: the events to append to both tenants' logs in the caller's transaction.

    ``records`` are the inspection rows the LIMS webhook stores (``lims_inspections``: ``id``,
    ``order_id``, ``event_id``, ``occurred_at``, ``lims_pass``, ``ils_pass`` and the ``verdict``
    of :func:`ils.domain.inspection.final_inspection`, the one judge), already inserted. A record
    whose ``ils_pass`` is False gets a QA failure linked to it (whatever the LIMS said), and its
    order, if still at ``quality_check`` after the webhook's own moves, goes back to
    ``in_production`` (never forward). A record ILS could not judge (``ils_pass`` None) or that
    passed records nothing. Call with the orders locked (the webhook handler locks them first),
    after the inspections are inserted.
    """
    new: list[NewEvent] = []
    for record in records:
        if record.get("ils_pass") is not False:
            continue
        verdict = record.get("verdict") or {}
        pointers = [f["pointer"] for f in verdict.get("fields", []) if not f.get("pass")]
        inspection = {"id": None, "lab_id": lab_id, "order_id": record["order_id"]}
        failure = _inspection_failure(inspection | {"inspected_at": now}, pointers, None)
        failure["lims_inspection_id"] = record["id"]
        failure["details"] |= {
            "lims_pass": record["lims_pass"],
            "lims_event_id": record["event_id"],
        }
        await quality.insert_failure(conn, failure)
        body = {"failure": _failure_event(failure)}
        new.append(NewEvent("qa.failure_recorded", Topic.ORDERS, now, body, record["order_id"]))
        row = await orders.get_visible(conn, record["order_id"], lab_id, for_update=True)
        if row is not None and row["status"] == OrderStatus.QUALITY_CHECK:
            by = {"source": "ils", "lims_event_id": record["event_id"]}
            new.append(await _send_back(conn, row, by, now))
    return new


def _event_body(view: dict[str, Any]) -> dict[str, Any]:
    failed = [f["pointer"] for f in view["fields"] if not f["pass"]]
    return {
        "inspection_id": view["id"],
        "pass": view["pass"],
        "lims_pass": view["lims_pass"],
        "failed_fields": failed,
        "source": view["source"],
    }


def _inspection_failure(
    inspection: dict[str, Any], pointers: list[str], created_by: str | None
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lab_id": inspection["lab_id"],
        "order_id": inspection["order_id"],
        "inspection_id": inspection["id"],
        "station": "final_inspection",
        "equipment_id": None,
        "reason": FAILED_INSPECTION,
        "details": {"failed_fields": pointers},
        "created_by": created_by,
        "created_at": inspection["inspected_at"],
    }


def _failure_event(failure: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "order_id", "inspection_id", "station", "equipment_id", "reason")
    return {
        **{k: failure[k] for k in keys},
        "lims_inspection_id": failure.get("lims_inspection_id"),
    }


def failure_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "order_id", "inspection_id", "station", "equipment_id", "reason", "details")
    extra = {"lims_inspection_id": row.get("lims_inspection_id"), "created_at": row["created_at"]}
    return {**{k: row[k] for k in keys}, **extra}


def require_lab(principal: Principal) -> None:
    if principal.tenant_kind is not TenantKind.LAB:
        raise NotFound("quality records belong to labs")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        return orders.decode_cursor(cursor)
    except (ValueError, TypeError):
        raise ValidationFailed(
            [FieldIssue("/cursor", "cursor-invalid", "not a cursor from this API")]
        ) from None


def page_of(rows: list[dict[str, Any]], limit: int, view: Any) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = orders.encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return {"items": [view(r) for r in rows], "next_cursor": cursor}


class Quality:
    def __init__(self, db: Database, publisher: Publisher) -> None:
        self.db = db
        self.publisher = publisher

    async def inspect(
        self, principal: Principal, order_id: str, measured: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Judge a final inspection; a failure sends the order back to production."""
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        async with self.db.transaction() as conn:
            row = await orders.get_visible(conn, order_id, principal.tenant_id, for_update=True)
            if row is None or row["lab_id"] != principal.tenant_id:
                raise NotFound("no such order")
            if row["status"] not in INSPECTABLE:
                raise Conflict(f"an order that is {row['status']} is not at inspection")
            await tenants.lock_heads(conn, [row["practice_id"], row["lab_id"]])
            view, new = await record_inspection(
                conn,
                row["lab_id"],
                row,
                measured,
                None,
                now,
                source="api",
                inspected_by=principal.user_id,
            )
            status = row["status"]
            if not view["pass"] and row["status"] == OrderStatus.QUALITY_CHECK:
                by = {"tenant_kind": str(principal.tenant_kind), "role": str(principal.role)}
                new.append(await _send_back(conn, row, by, now))
                status = OrderStatus.IN_PRODUCTION
            stored = await append_order_events(conn, row, new)
            await audit.record(
                conn,
                row["lab_id"],
                now,
                principal.user_id,
                "qc.inspection",
                order_id,
                {"inspection_id": view["id"], "pass": view["pass"]},
            )
        await publish_committed(self.publisher, stored)
        return {**view, "order_status": str(status)}

    async def record_failure(
        self, principal: Principal, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        lab_id = principal.tenant_id
        async with self.db.transaction() as conn:
            order_id = body.get("order_id")
            if order_id is not None:
                order = await orders.get_visible(conn, order_id, lab_id)
                if order is None or order["lab_id"] != lab_id:
                    raise ValidationFailed(
                        [FieldIssue("/order_id", "unknown-order", "no such order in this lab")]
                    )
            row = {
                "id": str(uuid.uuid4()),
                "lab_id": lab_id,
                "order_id": order_id,
                "inspection_id": None,
                "station": body.get("station"),
                "equipment_id": body.get("equipment_id"),
                "reason": body["reason"],
                "details": body.get("details") or {},
                "created_by": principal.user_id,
                "created_at": now,
            }
            await quality.insert_failure(conn, row)
            await tenants.lock_heads(conn, [lab_id])
            event = NewEvent(
                "qa.failure_recorded", Topic.ORDERS, now, {"failure": _failure_event(row)}, order_id
            )
            stored = await _append_lab(conn, lab_id, [event])
            await audit.record(conn, lab_id, now, principal.user_id, "qc.failure", row["id"])
        await publish_committed(self.publisher, stored)
        return failure_view(row)

    async def failures(
        self,
        principal: Principal,
        station: str | None,
        order_id: str | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        principal.require(Permission.QC_READ)
        require_lab(principal)
        after = decode_cursor(cursor)
        async with self.db.connection() as conn:
            rows = await quality.failures_page(
                conn, principal.tenant_id, station, order_id, after, limit + 1
            )
        return page_of(rows, limit, failure_view)

    async def open_rca(
        self, principal: Principal, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        lab_id = principal.tenant_id
        row = {
            "id": str(uuid.uuid4()),
            "lab_id": lab_id,
            "title": body["title"],
            "category": str(RcaCategory(body["category"])),
            "description": body.get("description"),
        }
        failure_ids = [str(f) for f in body.get("failure_ids", [])]
        async with self.db.transaction() as conn:
            await _check_failures(conn, lab_id, failure_ids, "/failure_ids")
            await quality.insert_rca(conn, row, principal.user_id, now)
            await quality.link_failures(conn, row["id"], failure_ids)
            stored = await self._rca_event(conn, principal, row["id"], "rca.opened", now)
            view = await _rca_view(conn, row["id"], lab_id)
        await publish_committed(self.publisher, stored)
        return view

    async def rca(self, principal: Principal, rca_id: str) -> dict[str, Any]:
        principal.require(Permission.QC_READ)
        require_lab(principal)
        async with self.db.connection() as conn:
            return await _rca_view(conn, rca_id, principal.tenant_id)

    async def rcas(
        self, principal: Principal, status: str | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        principal.require(Permission.QC_READ)
        require_lab(principal)
        after = decode_cursor(cursor)
        async with self.db.connection() as conn:
            rows = await quality.rca_page(conn, principal.tenant_id, status, after, limit + 1)
        return page_of(rows, limit, _rca_summary)

    async def move_rca(
        self,
        principal: Principal,
        rca_id: str,
        to: RcaStatus,
        root_cause: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        if needs_approval(to):
            principal.require(Permission.QC_APPROVE)
        lab_id = principal.tenant_id
        async with self.db.transaction() as conn:
            row = await quality.get_rca(conn, rca_id, lab_id, for_update=True)
            if row is None:
                raise NotFound("no such RCA")
            facts = RcaFacts(
                root_cause or row["root_cause"], len(await quality.actions(conn, rca_id))
            )
            advance(RcaStatus(row["status"]), to, facts)
            await quality.update_rca(conn, rca_id, str(to), root_cause, now)
            stored = await self._rca_event(conn, principal, rca_id, "rca.status_changed", now)
            view = await _rca_view(conn, rca_id, lab_id)
        await publish_committed(self.publisher, stored)
        return view

    async def add_action(
        self, principal: Principal, rca_id: str, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        lab_id = principal.tenant_id
        async with self.db.transaction() as conn:
            row = await quality.get_rca(conn, rca_id, lab_id, for_update=True)
            if row is None:
                raise NotFound("no such RCA")
            if row["status"] in (RcaStatus.VERIFIED, RcaStatus.CLOSED):
                raise Conflict(f"an RCA that is {row['status']} takes no new action")
            action = {
                "id": str(uuid.uuid4()),
                "rca_id": rca_id,
                "lab_id": lab_id,
                "description": body["description"],
                "owner": body.get("owner"),
                "due_date": _date_or_none(body.get("due_date")),
                "created_at": now,
            }
            await quality.insert_action(conn, action)
            stored = await self._rca_event(conn, principal, rca_id, "rca.action_added", now)
            view = await _rca_view(conn, rca_id, lab_id)
        await publish_committed(self.publisher, stored)
        return view

    async def link(
        self, principal: Principal, rca_id: str, failure_ids: list[str], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        lab_id = principal.tenant_id
        async with self.db.transaction() as conn:
            if await quality.get_rca(conn, rca_id, lab_id, for_update=True) is None:
                raise NotFound("no such RCA")
            await _check_failures(conn, lab_id, failure_ids, "/failure_ids")
            await quality.link_failures(conn, rca_id, failure_ids)
            stored = await self._rca_event(conn, principal, rca_id, "rca.failures_linked", now)
            view = await _rca_view(conn, rca_id, lab_id)
        await publish_committed(self.publisher, stored)
        return view

    @staticmethod
    async def _rca_event(
        conn: Conn, principal: Principal, rca_id: str, kind: str, now: datetime
    ) -> list[StoredEvent]:
        lab_id = principal.tenant_id
        await tenants.lock_heads(conn, [lab_id])
        row = await quality.get_rca(conn, rca_id, lab_id)
        assert row is not None
        event = NewEvent(kind, Topic.METRICS, now, {"rca": _rca_summary(row)})
        stored = await _append_lab(conn, lab_id, [event])
        await audit.record(conn, lab_id, now, principal.user_id, kind, rca_id)
        return stored


async def _send_back(
    conn: Conn, row: dict[str, Any], by: dict[str, Any], now: datetime
) -> NewEvent:
    """quality_check -> in_production after a failed inspection (a system move: ILS's verdict)."""
    state = OrderState(OrderStatus(row["status"]))
    new_state = transition(state, OrderStatus.IN_PRODUCTION)
    updated = await orders.update_status(
        conn, row["id"], new_state.status, None, row["station"], row["delivered_at"], now
    )
    data = {
        "order": order_summary(updated),
        "from": row["status"],
        "to": str(new_state.status),
        "reason": FAILED_INSPECTION,
        "by": by,
    }
    return NewEvent("order.status_changed", Topic.ORDERS, now, data, row["id"])


async def _append_lab(conn: Conn, lab_id: str, new: list[NewEvent]) -> list[StoredEvent]:
    return await events.append(conn, lab_id, new)


async def _check_failures(conn: Conn, lab_id: str, ids: list[str], pointer: str) -> None:
    found = await quality.existing_failures(conn, lab_id, ids)
    issues = [
        FieldIssue(f"{pointer}/{i}", "unknown-failure", "no such QA failure in this lab")
        for i, failure_id in enumerate(ids)
        if failure_id not in found
    ]
    if issues:
        raise ValidationFailed(issues)


def _rca_summary(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "category", "status", "description", "root_cause", "version")
    return {
        **{k: row[k] for k in keys},
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def _rca_view(conn: Conn, rca_id: str, lab_id: str) -> dict[str, Any]:
    row = await quality.get_rca(conn, rca_id, lab_id)
    if row is None:
        raise NotFound("no such RCA")
    return {
        **_rca_summary(row),
        "failure_ids": await quality.rca_failures(conn, rca_id),
        "corrective_actions": await quality.actions(conn, rca_id),
    }


def _date_or_none(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
