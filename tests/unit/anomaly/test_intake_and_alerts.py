"""Bad telemetry input, the lab intake, and the alert life cycle."""

from __future__ import annotations

import itertools
import math

import pytest

from ils.analytics.anomaly.alerts import (
    AlertBook,
    AlertTransitionRefused,
    acknowledge,
    raise_finding,
    resolve,
)
from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.lab import LabAnomalyState, ingest_readings, register_equipment
from ils.analytics.anomaly.validation import IntakeState, ValidationParams, check_readings
from ils.errors import NotFound

METRICS = ("vibration_mm_s", "spindle_temp_c")
REGISTRY = {"m1": METRICS, "m2": METRICS}
NOW = 1_800_000_000.0


def _r(eid: str, at: float, **metrics: float) -> dict[str, object]:
    return {"equipment_id": eid, "at": at, "metrics": metrics or {"vibration_mm_s": 2.0}}


@pytest.mark.parametrize(
    ("reading", "outcome", "code"),
    [
        (_r("zz", NOW), "rejected", "unknown-equipment"),
        (_r("m1", NOW, vibration_mm_s=math.nan), "rejected", "non-finite-value"),
        (_r("m1", NOW, vibration_mm_s=math.inf), "rejected", "non-finite-value"),
        (_r("m1", NOW + 3600), "rejected", "future-timestamp"),
        (_r("m1", NOW - 30 * 86400), "rejected", "stale-timestamp"),
        (_r("m1", NOW, spindle_temp_f=104.0), "quarantined", "unit-changed"),
        (_r("m1", NOW, vibration_in_s=0.08), "quarantined", "unit-changed"),
        (_r("m1", NOW, humidity_pct=40.0), "rejected", "unknown-metric"),
        (_r("m1", NOW - 60), "accepted", None),
    ],
)
def test_each_bad_reading_gets_a_clear_answer(
    reading: dict, outcome: str, code: str | None
) -> None:  # type: ignore[type-arg]
    _, verdicts = check_readings(IntakeState(), [reading], REGISTRY, NOW)
    assert (verdicts[0].outcome, verdicts[0].code) == (outcome, code)


def test_out_of_order_and_duplicate_readings_are_rejected() -> None:
    readings = [_r("m1", NOW - 100), _r("m1", NOW - 100), _r("m1", NOW - 200), _r("m1", NOW - 50)]
    _, verdicts = check_readings(IntakeState(), readings, REGISTRY, NOW)
    assert [v.code for v in verdicts] == [None, "out-of-order", "out-of-order", None]


def test_a_flood_from_one_machine_is_quarantined_and_leaves_the_other_alone() -> None:
    p = ValidationParams(flood_burst=10.0, flood_rate_per_s=1 / 600)
    flood = [_r("m1", NOW - 1000 + i) for i in range(50)]
    calm = [_r("m2", NOW - 1000 + 600 * i) for i in range(2)]
    state, verdicts = check_readings(IntakeState(), flood + calm, REGISTRY, NOW, p)
    m1 = [v.outcome for v in verdicts if v.equipment_id == "m1"]
    assert m1.count("accepted") == 10 and m1.count("quarantined") == 40
    assert all(v.outcome == "accepted" for v in verdicts if v.equipment_id == "m2")
    assert state.last_at["m2"] == NOW - 400 and state.last_at["m1"] == NOW - 991


def test_lab_intake_keeps_other_machines_untouched_by_bad_input() -> None:
    lab = LabAnomalyState("lab-1")
    for eid in ("m1", "m2"):
        lab = register_equipment(lab, eid, METRICS)
    ids = (f"a{i}" for i in itertools.count())
    good = [
        _r("m2", NOW - 3000 + 600 * i, vibration_mm_s=2.0, spindle_temp_c=40.0) for i in range(3)
    ]
    lab, _ = ingest_readings(lab, good, NOW, lambda: next(ids))
    before = lab.machines["m2"]
    bad = [_r("m1", NOW, vibration_mm_s=math.nan), _r("m2", NOW + 9999), _r("m1", NOW, x_c=1.0)]
    lab2, result = ingest_readings(lab, bad, NOW, lambda: next(ids))
    assert result.accepted == 0
    assert lab2.machines["m2"] is before and "m1" not in lab2.machines
    assert lab.machines["m2"].per_metric["vibration_mm_s"].n == 3  # the old state is unchanged


def _finding(subject: str = "equipment:m1", severity: str = "warning", at: float = 1.0) -> Finding:
    return Finding("equipment", subject, severity, at, "vibration_mm_s:cusum", 1.2, {"z": 4.0})


def test_one_live_alert_per_subject_and_kind_with_escalating_severity() -> None:
    ids = iter(["a1", "a2", "a3"])
    book, first, new1 = raise_finding(AlertBook(), _finding(), lambda: next(ids))
    book, again, new2 = raise_finding(
        book, _finding(severity="critical", at=2.0), lambda: next(ids)
    )
    book, calm, _ = raise_finding(book, _finding(severity="warning", at=3.0), lambda: next(ids))
    assert new1 and not new2 and first.id == again.id == calm.id == "a1"
    assert calm.severity == "critical" and calm.occurrences == 3 and calm.last_seen_at == 3.0
    book, other, new3 = raise_finding(book, _finding("equipment:m2"), lambda: next(ids))
    assert new3 and other.id == "a2"
    assert calm.as_dict()["evidence"]["rule"] == "vibration_mm_s:cusum"


def test_ack_then_resolve_and_a_new_finding_after_resolve_opens_a_new_alert() -> None:
    ids = iter(["a1", "a2"])
    book, alert, _ = raise_finding(AlertBook(), _finding(), lambda: next(ids))
    assert alert.status == "open"
    book, acked = acknowledge(book, "a1", now=5.0)
    book, same, created = raise_finding(book, _finding(at=6.0), lambda: next(ids))
    assert acked.status == "acknowledged" and not created and same.id == "a1"
    book, done = resolve(book, "a1", now=7.0)
    assert done.status == "resolved" and done.resolved_at == 7.0
    with pytest.raises(AlertTransitionRefused):
        acknowledge(book, "a1", now=8.0)
    with pytest.raises(NotFound):
        resolve(book, "nope", now=8.0)
    book, fresh, created = raise_finding(book, _finding(at=9.0), lambda: next(ids))
    assert created and fresh.id == "a2"


def test_generator_readings_flow_through_the_lab_intake_and_open_one_alert_per_machine() -> None:
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from ils.sim.telemetry import DegradationParams, Machine, TelemetryGenerator

    start = datetime(2026, 2, 2, tzinfo=UTC)
    gen = TelemetryGenerator(
        [Machine("e1", "edger")], np.random.default_rng(4), DegradationParams(spike_prob=0.0)
    )
    window = gen.readings_between(start, start + timedelta(days=4), timedelta(minutes=10))
    readings = [{**r, "at": r["at"].timestamp()} for r in window.readings]
    readings[-30]["metrics"] = {**readings[-30]["metrics"], "vibration_mm_s": 40.0}
    readings[-20]["metrics"] = {**readings[-20]["metrics"], "vibration_mm_s": 40.0}
    lab = register_equipment(LabAnomalyState("lab-1"), "e1")
    ids = (f"a{i}" for i in itertools.count())
    lab, result = ingest_readings(lab, readings, readings[-1]["at"], lambda: next(ids))
    assert result.accepted == len(readings)
    assert len(result.findings) >= 2
    assert len(result.new_alerts) == 1 and result.new_alerts[0].subject == "equipment:e1"
    assert lab.book.alerts[result.new_alerts[0].id].occurrences == len(result.findings)
