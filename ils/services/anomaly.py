"""Equipment, telemetry, failure risk and alerts: the use-cases behind the anomaly routes.

Telemetry: a batch is one call to the lab's ``AnomalyModel`` (``intake``), which serialises the
lab's batches: each reading gets a verdict before anything is stored; accepted readings are
written with one COPY and quarantined ones kept aside, in one transaction; after commit the
accepted readings feed the lab's detectors and their findings come back to become alerts here. A
rejected reading changes nothing.

Alerts (the table SPC shares): one live alert per (kind, subject), folded in the database
(``ils.db.alerts.upsert_live``); each new alert appends ``alert.raised`` and each fold or status
change ``alert.updated`` to the lab's event log (topic ``alerts``), published after commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ils.analytics.anomaly.alerts import TRANSITIONS, AlertTransitionRefused
from ils.analytics.anomaly.finding import SEVERITIES, Finding
from ils.analytics.anomaly.validation import Verdict
from ils.db import alerts as alert_db
from ils.db import audit, events, telemetry, tenants
from ils.db import equipment as equipment_db
from ils.db.database import Conn, Database
from ils.db.pool import dumps
from ils.domain.access import Permission, Principal, TenantKind
from ils.domain.event import NewEvent, StoredEvent, Topic
from ils.domain.lims_event import Movement
from ils.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from ils.services.anomaly_model import AnomalyPort, finite
from ils.services.anomaly_volume import ForecastingDemand, VolumeWatch
from ils.services.forecasting import Forecasting
from ils.services.ports import Clock, Publisher, publish_committed, utc_now

log = logging.getLogger(__name__)

MAX_FUTURE = timedelta(minutes=5)


def require_lab(principal: Principal) -> None:
    if principal.tenant_kind is not TenantKind.LAB:
        raise NotFound("equipment and alerts belong to labs")


def alert_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """The alert as API.md shows it, JSON-ready (times as ISO text): also the event payload."""
    keys = ("id", "kind", "severity", "subject", "detected_at", "evidence", "status")
    extra = ("last_seen_at", "occurrences", "acknowledged_at", "resolved_at")
    view = {**{k: row[k] for k in keys}, **{k: row.get(k) for k in extra}}
    return dict(json.loads(dumps(view)))


def verdict_view(v: Verdict) -> dict[str, Any]:
    return {
        "index": v.index,
        "equipment_id": v.equipment_id,
        "outcome": v.outcome,
        "code": v.code,
        "detail": v.detail,
    }


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def collapse(findings: Sequence[Finding]) -> list[tuple[Finding, float, int]]:
    """Per (kind, subject): the strongest finding, the last time seen and how many there were."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.kind, f.subject), []).append(f)
    out = []
    for group in groups.values():
        top = max(group, key=lambda f: (SEVERITIES.index(f.severity), f.score))
        first = min(f.detected_at for f in group)
        last = max(f.detected_at for f in group)
        out.append((_with_time(top, first), last, len(group)))
    return out


def _with_time(f: Finding, at: float) -> Finding:
    return Finding(f.kind, f.subject, f.severity, at, f.rule, f.score, f.evidence)


class Anomaly:
    def __init__(
        self,
        db: Database,
        port: AnomalyPort,
        publisher: Publisher,
        forecasting: Forecasting | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.port = port
        self.publisher = publisher
        #: Daily orders against the forecast (None: volume is not watched).
        self.volume = VolumeWatch(ForecastingDemand(forecasting)) if forecasting else None
        self.clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    # --- equipment ------------------------------------------------------------------------------
    async def register(
        self, principal: Principal, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.EQUIPMENT_WRITE)
        require_lab(principal)
        row = {**body, "registered_at": now}
        async with self.db.transaction() as conn:
            if not await equipment_db.insert(conn, principal.tenant_id, row):
                raise Conflict(f"the lab already has equipment {body['id']!r}")
            await audit.record(
                conn, principal.tenant_id, now, principal.user_id, "equipment.register", body["id"]
            )
        await self.port.register(principal.tenant_id, body["id"], body["metrics"])
        return row

    async def list_equipment(self, principal: Principal) -> dict[str, Any]:
        principal.require(Permission.LAB_READ)
        require_lab(principal)
        async with self.db.connection() as conn:
            rows = await equipment_db.all_equipment(conn, principal.tenant_id)
        return {"items": rows, "next_cursor": None}

    async def record_event(
        self, principal: Principal, equipment_id: str, type_: str, at: datetime, now: datetime
    ) -> dict[str, Any]:
        """A failure, maintenance or repair; a failure is reported as forewarned or sudden."""
        principal.require(Permission.EQUIPMENT_WRITE)
        require_lab(principal)
        if at > now + MAX_FUTURE:
            raise ValidationFailed([FieldIssue("/at", "future-time", "the event is in the future")])
        event_id = str(uuid.uuid4())
        async with self.db.transaction() as conn:
            await self._machine(conn, principal.tenant_id, equipment_id)
            await equipment_db.add_event(
                conn, event_id, principal.tenant_id, equipment_id, type_, at, principal.user_id, now
            )
            details = {"type": type_, "at": at}
            await audit.record(
                conn,
                principal.tenant_id,
                now,
                principal.user_id,
                "equipment.event",
                equipment_id,
                details,
            )
        body: dict[str, Any] = {
            "id": event_id,
            "equipment_id": equipment_id,
            "type": type_,
            "at": at,
        }
        if type_ == "failure":
            body["assessment"] = await self._failure_reported(principal.tenant_id, equipment_id, at)
        return body

    async def _failure_reported(
        self, lab_id: str, equipment_id: str, at: datetime
    ) -> dict[str, Any]:
        assessment = await self.port.precursor(lab_id, equipment_id, at)
        finding = Finding(
            kind="equipment",
            subject=f"failed:{equipment_id}",
            severity="critical",
            detected_at=at.timestamp(),
            rule="failure-reported",
            score=1.0,
            evidence={"equipment_id": equipment_id, "failed_at": at.isoformat(), **assessment},
        )
        await self.raise_findings(lab_id, [finding], at)
        await self.port.train(lab_id, at, wait=False)  # a new label: retrain in the background
        return assessment

    async def _machine(self, conn: Conn, lab_id: str, equipment_id: str) -> dict[str, Any]:
        row = await equipment_db.one(conn, lab_id, equipment_id)
        if row is None:
            raise NotFound(f"no equipment {equipment_id}")
        return row

    # --- telemetry ------------------------------------------------------------------------------
    async def ingest(
        self, principal: Principal, readings: list[dict[str, Any]], now: datetime
    ) -> dict[str, Any]:
        """``readings``: ``{"equipment_id", "at": datetime, "metrics": {name: float}}``."""
        principal.require(Permission.EQUIPMENT_WRITE)
        require_lab(principal)
        lab_id = principal.tenant_id
        verdicts, findings = await self._intake_batch(lab_id, readings, now)
        raised = await self.raise_findings(lab_id, findings, now)
        machines = {readings[v.index]["equipment_id"] for v in verdicts if v.outcome == "accepted"}
        if machines:
            self._background(self._sweep(lab_id, sorted(machines), now))
        counts = {
            k: sum(v.outcome == k for v in verdicts)
            for k in ("accepted", "rejected", "quarantined")
        }
        return {**counts, "verdicts": [verdict_view(v) for v in verdicts], "alerts": raised}

    async def _intake_batch(
        self, lab_id: str, readings: list[dict[str, Any]], now: datetime
    ) -> tuple[list[Verdict], list[Finding]]:
        """Check, store (one transaction), then feed the detectors: one call to the lab's model."""
        return await self.port.intake(lab_id, readings, now)

    # --- process, quality and volume --------------------------------------------------------
    async def after_movements(self, lab_id: str, moves: Sequence[Movement]) -> None:
        """Committed station movements (a stations observer): the lab's process and quality
        detectors close their periods on them; the day's volume is tested on the first activity
        of the next day. Findings become alerts (kinds ``process``, ``quality``, ``volume``)."""
        wire = [(str(m.station), m.job_id, m.status, m.occurred_at.timestamp()) for m in moves]
        findings = await self.port.movements(lab_id, wire) if wire else []
        if self.volume is not None:
            findings += await self.volume.findings(lab_id)
        await self.raise_findings(lab_id, findings, self.clock())

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self, lab_id: str, machines: list[str], now: datetime) -> None:
        """Hourly failure-risk evaluation of machines that sent readings (off the request path)."""
        try:
            findings = await self.port.sweep(lab_id, machines, now)
            await self.raise_findings(lab_id, findings, now)
        except Exception:
            log.warning("failure-risk sweep of lab %s failed", lab_id, exc_info=True)

    async def settle(self) -> None:
        """Wait for background sweeps and trainings (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        settle = getattr(self.port, "settle", None)
        if settle is not None:
            await settle()

    # --- alerts ---------------------------------------------------------------------------------
    async def raise_findings(
        self, lab_id: str, findings: Sequence[Finding], now: datetime
    ) -> list[dict[str, Any]]:
        """Store findings as alerts (one live per kind and subject) and publish the changes."""
        if not findings:
            return []
        out, log = [], []
        async with self.db.transaction() as conn:
            await tenants.lock_heads(conn, [lab_id])
            for f, last, count in collapse(findings):
                alert = {
                    "id": str(uuid.uuid4()),
                    "kind": f.kind,
                    "severity": f.severity,
                    "subject": f.subject,
                    "detected_at": _at(f.detected_at),
                    "evidence": finite({**f.evidence, "rule": f.rule, "score": f.score}),
                    "last_seen_at": _at(last),
                }
                row, created = await alert_db.upsert_live(conn, lab_id, alert, count)
                view = alert_view(row)
                out.append({**view, "created": created})
                kind = "alert.raised" if created else "alert.updated"
                log.append(NewEvent(kind, Topic.ALERTS, now, {"alert": view}))
            stored = await events.append(conn, lab_id, log)
        await publish_committed(self.publisher, stored)
        return out

    async def alerts(
        self,
        principal: Principal,
        *,
        kind: str | None,
        status: str | None,
        since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        principal.require(Permission.LAB_READ)
        require_lab(principal)
        after = None
        if cursor:
            try:
                after = alert_db.decode_cursor(cursor)
            except (ValueError, TypeError):
                issue = FieldIssue("/cursor", "cursor-invalid", "not a cursor from this API")
                raise ValidationFailed([issue]) from None
        async with self.db.connection() as conn:
            rows = await alert_db.page(
                conn,
                principal.tenant_id,
                kind=kind,
                status=status,
                since=since,
                after=after,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = alert_db.encode_cursor(rows[-1]["detected_at"], rows[-1]["id"]) if more else None
        return {"items": [alert_view(r) for r in rows], "next_cursor": nxt}

    async def transition(
        self, principal: Principal, alert_id: str, to: str, now: datetime
    ) -> dict[str, Any]:
        """``to``: ``acknowledged`` or ``resolved`` (open -> acknowledged -> resolved)."""
        principal.require(Permission.ALERTS_MANAGE)
        require_lab(principal)
        lab_id = principal.tenant_id
        async with self.db.transaction() as conn:
            row = await alert_db.for_update(conn, lab_id, alert_id)
            if row is None:
                raise NotFound(f"no alert {alert_id}")
            allowed = TRANSITIONS.get(row["status"], frozenset())
            if to not in allowed:
                raise AlertTransitionRefused(f"alert is {row['status']}", allowed=sorted(allowed))
            await tenants.lock_heads(conn, [lab_id])
            row = await alert_db.set_status(conn, lab_id, alert_id, to, now, principal.user_id)
            view = alert_view(row)
            await audit.record(conn, lab_id, now, principal.user_id, f"alert.{to}", alert_id)
            stored: list[StoredEvent] = await events.append(
                conn, lab_id, [NewEvent("alert.updated", Topic.ALERTS, now, {"alert": view})]
            )
        await publish_committed(self.publisher, stored)
        return view

    # --- failure prediction ---------------------------------------------------------------------
    async def failure_risk(
        self, principal: Principal, equipment_id: str, now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.LAB_READ)
        require_lab(principal)
        async with self.db.connection() as conn:
            await self._machine(conn, principal.tenant_id, equipment_id)
        body, finding = await self.port.risk(principal.tenant_id, equipment_id, now)
        if finding is not None:
            await self.raise_findings(principal.tenant_id, [finding], now)
        return body

    async def train(self, principal: Principal, now: datetime) -> dict[str, Any]:
        """Start training the lab's failure model now (off the request path)."""
        principal.require(Permission.EQUIPMENT_WRITE)
        require_lab(principal)
        return await self.port.train(principal.tenant_id, now, wait=False)

    async def prune_telemetry(self, keep_days: int, now: datetime) -> int:
        """The retention rule: raw telemetry older than ``keep_days`` is rolled up, then deleted."""
        async with self.db.transaction() as conn:
            return await telemetry.prune(conn, keep_days, now)
