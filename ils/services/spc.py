"""Control points and SPC: limits from a baseline, measurements, Nelson rules -> process alerts.

A measurement batch is stored, checked against the Nelson rules (with the stored history as
context), and every violation completed by the batch becomes an alert of kind ``process`` in the
same transaction, de-duplicated by (control point, rule, measurement). The ``alert.raised``
events go to the lab's log and are published after commit (the real-time path).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ils.analytics.control_point import (
    LOOKBACK,
    RuleViolation,
    baseline_limits,
    new_violations,
    plotted,
)
from ils.db import audit, events, spc, tenants
from ils.db.database import Conn, Database
from ils.domain.access import Permission, Principal
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from ils.services.instruments import ALERTS_RAISED, Meter, NullMeter
from ils.services.ports import Publisher, publish_committed
from ils.services.quality import require_lab

ALERT_KIND = "process"


def point_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "station", "unit", "lsl", "usl", "target", "chart", "subgroup_size")
    return {**{k: row[k] for k in keys}, "limits": row["limits"], "created_at": row["created_at"]}


def measurement_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "value": row["value"],
        "range": row["spread"],
        "values": row["raw"],
        "measured_at": row["measured_at"],
    }


def checked_limits(chart: str, baseline: list[Any], pointer: str) -> dict[str, Any]:
    """Limits of a baseline, or a 422 that says why the baseline cannot give them."""
    try:
        limits = baseline_limits(chart, baseline)
    except ValueError as exc:
        raise ValidationFailed([FieldIssue(pointer, "baseline-invalid", str(exc))]) from None
    if not limits["sigma"] > 0:
        detail = "the baseline has no variation: control limits need some"
        raise ValidationFailed([FieldIssue(pointer, "baseline-flat", detail)])
    return limits


def check_shape(row: dict[str, Any], values: list[Any], pointer: str) -> None:
    """I-MR takes numbers; X-bar/R takes subgroups of exactly ``subgroup_size`` numbers."""
    size = row["subgroup_size"]
    for i, value in enumerate(values):
        grouped = isinstance(value, list)
        if row["chart"] == "imr" and grouped:
            raise ValidationFailed([FieldIssue(f"{pointer}/{i}", "not-a-number", "one value")])
        if row["chart"] == "xbar_r" and (not grouped or len(value) != size):
            detail = f"a subgroup of {size} values"
            raise ValidationFailed([FieldIssue(f"{pointer}/{i}", "subgroup-size", detail)])


def alert_of(
    point: dict[str, Any], violation: RuleViolation, measurement_id: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "tenant_id": point["lab_id"],
        "kind": ALERT_KIND,
        "severity": "high" if violation.rule == 1 else "medium",
        "subject": f"control point {point['name']}: Nelson rule {violation.rule}",
        "detected_at": now,
        "evidence": {
            "control_point_id": point["id"],
            "rule": violation.rule,
            "rule_name": violation.name,
            "measurement_id": measurement_id,
            "value": violation.value,
            "limits": point["limits"],
        },
        "dedupe_key": f"spc:{point['id']}:rule{violation.rule}:{measurement_id}",
    }


def alert_view(alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "severity", "subject", "detected_at", "evidence")
    return {**{k: alert[k] for k in keys}, "status": "open"}


class ControlPoints:
    def __init__(self, db: Database, publisher: Publisher, meter: Meter | None = None) -> None:
        self.db = db
        self.publisher = publisher
        self.meter: Meter = meter or NullMeter()

    async def create(
        self, principal: Principal, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.QC_APPROVE)
        require_lab(principal)
        row = {
            **{k: body.get(k) for k in ("name", "station", "unit", "lsl", "usl", "target")},
            "id": str(uuid.uuid4()),
            "lab_id": principal.tenant_id,
            "chart": body["chart"],
            "subgroup_size": body["subgroup_size"] if body["chart"] == "xbar_r" else 1,
            "limits": None,
            "created_at": now,
        }
        if body.get("baseline"):
            check_shape(row, body["baseline"], "/baseline")
            row["limits"] = checked_limits(row["chart"], body["baseline"], "/baseline")
        async with self.db.transaction() as conn:
            if not await spc.insert_point(conn, row):
                raise Conflict(f"the lab already has a control point named {row['name']!r}")
            await audit.record(conn, row["lab_id"], now, principal.user_id, "spc.point", row["id"])
        return point_view(row)

    async def set_baseline(
        self, principal: Principal, point_id: str, baseline: list[Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.QC_APPROVE)
        require_lab(principal)
        async with self.db.transaction() as conn:
            row = await self._point(conn, principal, point_id, for_update=True)
            check_shape(row, baseline, "/baseline")
            row["limits"] = checked_limits(row["chart"], baseline, "/baseline")
            await spc.set_limits(conn, point_id, row["limits"])
            await audit.record(conn, row["lab_id"], now, principal.user_id, "spc.limits", point_id)
        return point_view(row)

    async def get(self, principal: Principal, point_id: str, limit: int) -> dict[str, Any]:
        principal.require(Permission.QC_READ)
        require_lab(principal)
        async with self.db.connection() as conn:
            row = await self._point(conn, principal, point_id)
            points = await spc.measurements(conn, point_id, limit)
        return {**point_view(row), "measurements": [measurement_view(p) for p in points]}

    async def all_points(self, principal: Principal) -> dict[str, Any]:
        principal.require(Permission.QC_READ)
        require_lab(principal)
        async with self.db.connection() as conn:
            rows = await spc.points(conn, principal.tenant_id)
        return {"items": [point_view(r) for r in rows], "next_cursor": None}

    async def measure(
        self,
        principal: Principal,
        point_id: str,
        body: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        """Store a batch of measurements; rule violations become process alerts."""
        principal.require(Permission.QC_WRITE)
        require_lab(principal)
        async with self.db.transaction() as conn:
            row = await self._point(conn, principal, point_id, for_update=True)
            _check_unit(row, body.get("unit"))
            check_shape(row, body["values"], "/values")
            at = body.get("measured_at") or now
            rows = [
                (v, s, raw, at)
                for (v, s), raw in zip(
                    plotted(row["chart"], body["values"]), body["values"], strict=True
                )
            ]
            stored = sorted(await spc.add_measurements(conn, point_id, rows), key=lambda r: r["id"])
            alerts, log = await self._rules(conn, row, stored, now)
        await publish_committed(self.publisher, log)
        for alert in alerts:
            self.meter.count(ALERTS_RAISED, tags={"kind": str(alert["kind"])})
        return {
            "control_point_id": point_id,
            "measurements": [measurement_view(r) for r in stored],
            "alerts": [alert_view(a) for a in alerts],
            "limits": row["limits"],
        }

    async def _rules(
        self, conn: Conn, row: dict[str, Any], stored: list[dict[str, Any]], now: datetime
    ) -> tuple[list[dict[str, Any]], list[StoredEvent]]:
        if row["limits"] is None or not stored:
            return [], []
        history = await spc.recent(conn, row["id"], stored[0]["id"], LOOKBACK)
        found = new_violations(
            [h["value"] for h in history], [s["value"] for s in stored], row["limits"]
        )
        raised = []
        for violation in found:
            alert = alert_of(row, violation, stored[violation.index]["id"], now)
            if await spc.insert_alert(conn, alert):
                raised.append(alert)
        if not raised:
            return [], []
        await tenants.lock_heads(conn, [row["lab_id"]])
        new = [
            NewEvent("alert.raised", Topic.ALERTS, now, {"alert": alert_view(a)}) for a in raised
        ]
        return raised, await events.append(conn, row["lab_id"], new)

    @staticmethod
    async def _point(
        conn: Conn, principal: Principal, point_id: str, for_update: bool = False
    ) -> dict[str, Any]:
        row = await spc.get_point(conn, point_id, principal.tenant_id, for_update)
        if row is None:
            raise NotFound("no such control point")
        return row


def _check_unit(row: dict[str, Any], unit: str | None) -> None:
    if unit is not None and unit != row["unit"]:
        detail = f"this control point is measured in {row['unit']!r}"
        raise ValidationFailed([FieldIssue("/unit", "unit-mismatch", detail)])
