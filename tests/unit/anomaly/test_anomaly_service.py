"""Pure parts of the anomaly service: findings folded per subject, history sufficiency."""

from __future__ import annotations

import numpy as np

from ils.analytics.anomaly.finding import Finding
from ils.analytics.failure.dataset import EquipmentEvent
from ils.analytics.failure.features import MachineSeries
from ils.services.anomaly import collapse
from ils.services.anomaly_model import (
    REQUIRED,
    enough,
    finite,
    history_counts,
    same_metric_machines,
)


def _f(subject: str, at: float, severity: str = "warning", score: float = 1.0) -> Finding:
    return Finding("equipment", subject, severity, at, "robust-z", score, {"at": at})


def test_findings_fold_per_subject_keeping_the_strongest_and_the_time_span() -> None:
    folded = collapse(
        [
            _f("equipment:a", 10.0),
            _f("equipment:b", 11.0),
            _f("equipment:a", 12.0, "critical", 3.0),
            _f("equipment:a", 14.0, "warning", 5.0),
        ]
    )
    by_subject = {f.subject: (f, last, n) for f, last, n in folded}
    top, last, n = by_subject["equipment:a"]
    assert (top.severity, top.score, top.detected_at, last, n) == ("critical", 3.0, 10.0, 14.0, 3)
    assert top.evidence == {"at": 12.0}
    assert by_subject["equipment:b"][1:] == (11.0, 1)


def test_non_finite_values_are_stored_as_null() -> None:
    assert finite({"a": float("nan"), "b": {"c": float("inf")}, "d": 1.5}) == {
        "a": None,
        "b": {"c": None},
        "d": 1.5,
    }


def _series(eid: str, days: float, metrics: tuple[str, ...] = ("x", "y")) -> MachineSeries:
    t = np.arange(0.0, days * 86400.0, 600.0)
    return MachineSeries(eid, metrics, t, np.zeros((t.size, len(metrics))))


def test_history_counts_decide_whether_a_model_may_be_trained() -> None:
    series = [_series(f"m{i}", 20.0) for i in range(3)]
    events = [EquipmentEvent(f"m{i}", "failure", 86400.0 * (i + 2)) for i in range(3)]
    counts = history_counts(series, events)
    assert counts["machines"] == 3 and counts["failures"] == 3
    assert abs(counts["days"] - 20.0) < 0.02 and enough(counts)
    assert not enough(history_counts(series[:2], events))
    assert not enough(history_counts(series, events[: int(REQUIRED["failures"]) - 1]))
    short = [_series(f"m{i}", 5.0) for i in range(3)]
    assert not enough(history_counts(short, events))


def test_the_model_is_trained_on_the_most_common_metric_set() -> None:
    odd = _series("odd", 3.0, ("x",))
    kept = same_metric_machines([_series("a", 3.0), odd, _series("b", 3.0)])
    assert [s.equipment_id for s in kept] == ["a", "b"]
