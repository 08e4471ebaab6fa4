"""A lab's anomaly state and its telemetry intake: what the per-lab AnomalyModel actor holds.

``ingest_readings`` is called after the readings are committed: it checks every reading
(``validation``), feeds the accepted ones to their machine's detectors (``equipment``), turns
findings into de-duplicated alerts (``alerts``) and answers per reading. A rejected or quarantined
reading changes no detector state, and one machine's readings never touch another machine's state.
The state is made of frozen dataclasses, dicts and numpy arrays: picklable for an actor snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ils.analytics.anomaly.alerts import Alert, AlertBook, raise_finding
from ils.analytics.anomaly.equipment import MachineState, observe_machine
from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.validation import IntakeState, ValidationParams, Verdict, check_readings

#: The metrics a registered machine reports unless told otherwise (the generator's set).
DEFAULT_METRICS: tuple[str, ...] = (
    "vibration_mm_s",
    "spindle_temp_c",
    "motor_current_a",
    "cycle_time_s",
)


@dataclass(frozen=True)
class LabAnomalyState:
    lab_id: str
    registry: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    machines: Mapping[str, MachineState] = field(default_factory=dict)
    intake: IntakeState = field(default_factory=IntakeState)
    book: AlertBook = field(default_factory=AlertBook)


@dataclass(frozen=True)
class IngestResult:
    verdicts: tuple[Verdict, ...]
    findings: tuple[Finding, ...]
    new_alerts: tuple[Alert, ...]

    @property
    def accepted(self) -> int:
        return sum(v.outcome == "accepted" for v in self.verdicts)


def register_equipment(
    state: LabAnomalyState, equipment_id: str, metrics: Sequence[str] = DEFAULT_METRICS
) -> LabAnomalyState:
    return replace(state, registry={**state.registry, equipment_id: tuple(metrics)})


def ingest_readings(
    state: LabAnomalyState,
    readings: Sequence[Mapping[str, Any]],
    now: float,
    new_alert_id: Callable[[], str],
    params: ValidationParams | None = None,
) -> tuple[LabAnomalyState, IngestResult]:
    """Readings are ``{"equipment_id", "at": epoch s, "metrics": {name: value}}``."""
    intake, verdicts = check_readings(state.intake, readings, state.registry, now, params)
    machines = dict(state.machines)
    book = state.book
    findings: list[Finding] = []
    new_alerts: list[Alert] = []
    for v in verdicts:
        if v.outcome != "accepted":
            continue
        r = readings[v.index]
        m = machines.get(v.equipment_id) or MachineState.empty(
            v.equipment_id, state.registry[v.equipment_id]
        )
        machines[v.equipment_id], score = observe_machine(m, float(r["at"]), r["metrics"])
        for f in score.findings:
            findings.append(f)
            book, alert, created = raise_finding(book, f, new_alert_id)
            if created:
                new_alerts.append(alert)
    new_state = replace(state, machines=machines, intake=intake, book=book)
    return new_state, IngestResult(tuple(verdicts), tuple(findings), tuple(new_alerts))


def raise_findings(
    state: LabAnomalyState, findings: Sequence[Finding], new_alert_id: Callable[[], str]
) -> tuple[LabAnomalyState, list[Alert]]:
    """Alerts for findings of the process, quality and volume detectors (de-duplicated)."""
    book = state.book
    created_alerts = []
    for f in findings:
        book, alert, created = raise_finding(book, f, new_alert_id)
        if created:
            created_alerts.append(alert)
    return replace(state, book=book), created_alerts
