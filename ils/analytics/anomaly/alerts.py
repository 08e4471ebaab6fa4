"""Alerts: de-duplication and the open -> acknowledged -> resolved life cycle, as pure functions.

At most one alert is live (open or acknowledged) per (kind, subject). A finding for a subject that
already has a live alert updates that alert (occurrences, last_seen_at, the latest evidence, a
severity that only goes up) instead of opening another. Once resolved, the next finding opens a
new alert. Acknowledging keeps the alert live (it still absorbs findings); resolving ends it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ils.analytics.anomaly.finding import SEVERITIES, Finding
from ils.errors import Conflict, NotFound

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"acknowledged", "resolved"}),
    "acknowledged": frozenset({"resolved"}),
    "resolved": frozenset(),
}


class AlertTransitionRefused(Conflict):
    code = "invalid-alert-transition"
    title = "The alert cannot move to that status"


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    severity: str
    subject: str
    detected_at: float
    evidence: dict[str, Any]
    status: str = "open"
    last_seen_at: float = 0.0
    occurrences: int = 1
    acknowledged_at: float | None = None
    resolved_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "subject": self.subject,
            "detected_at": self.detected_at,
            "evidence": self.evidence,
            "status": self.status,
        }


@dataclass(frozen=True)
class AlertBook:
    alerts: dict[str, Alert] = field(default_factory=dict)
    live: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, subject) -> id


def raise_finding(
    book: AlertBook, finding: Finding, new_alert_id: Callable[[], str]
) -> tuple[AlertBook, Alert, bool]:
    """Open a new alert (its id from ``new_alert_id``) or fold the finding into the live one.

    Returns the new book, the alert, and whether it is new.
    """
    key = (finding.kind, finding.subject)
    evidence = {**finding.evidence, "rule": finding.rule, "score": round(finding.score, 4)}
    if key in book.live:
        old = book.alerts[book.live[key]]
        severity = max(old.severity, finding.severity, key=SEVERITIES.index)
        updated = replace(
            old,
            severity=severity,
            evidence=evidence,
            last_seen_at=finding.detected_at,
            occurrences=old.occurrences + 1,
        )
        return AlertBook({**book.alerts, old.id: updated}, book.live), updated, False
    alert_id = new_alert_id()
    alert = Alert(
        alert_id,
        finding.kind,
        finding.severity,
        finding.subject,
        finding.detected_at,
        evidence,
        last_seen_at=finding.detected_at,
    )
    return AlertBook({**book.alerts, alert_id: alert}, {**book.live, key: alert_id}), alert, True


def acknowledge(book: AlertBook, alert_id: str, now: float) -> tuple[AlertBook, Alert]:
    return _move(book, alert_id, "acknowledged", now)


def resolve(book: AlertBook, alert_id: str, now: float) -> tuple[AlertBook, Alert]:
    return _move(book, alert_id, "resolved", now)


def _move(book: AlertBook, alert_id: str, to: str, now: float) -> tuple[AlertBook, Alert]:
    if alert_id not in book.alerts:
        raise NotFound(f"no alert {alert_id}")
    old = book.alerts[alert_id]
    if to not in TRANSITIONS[old.status]:
        raise AlertTransitionRefused(
            f"alert is {old.status}", allowed=sorted(TRANSITIONS[old.status])
        )
    if to == "acknowledged":
        new = replace(old, status=to, acknowledged_at=now)
    else:
        new = replace(old, status=to, resolved_at=now)
    live = dict(book.live)
    if to == "resolved":
        live.pop((old.kind, old.subject), None)
    return AlertBook({**book.alerts, alert_id: new}, live), new
