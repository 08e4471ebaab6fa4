"""Process and quality signals of the line on synthetic streams with injected anomalies.

Stream: two stations; each hour 30 jobs per station arrive at even times, wait 2 minutes and are
served in 8 +- 0.8 minutes (normal, seed fixed). Anomalies injected: service times doubled in one
hour at edging; arrivals that are never started (a queue growing hour after hour); a breakage
spike of one reason at one station; a shift of one inspected field's error by two sigmas.
"""

from __future__ import annotations

import numpy as np

from ils.analytics.anomaly.line import LineParams, LineWatch, Period, inspection_errors
from tests.unit.anomaly.streams import HOUR, T0, hour_of_moves


def run(
    hours: int,
    rng: np.random.Generator,
    change: dict[int, dict[str, float]] | None = None,
    stuck_from: int | None = None,
) -> list[tuple[int, list[str]]]:
    watch = LineWatch(LineParams())
    fired: list[tuple[int, list[str]]] = []
    for h in range(hours + 1):
        service = {"edging": 8.0, "surfacing": 12.0} | (change or {}).get(h, {})
        stuck = {"edging": 3} if stuck_from is not None and h >= stuck_from else None
        for period in watch.feed(hour_of_moves(h, rng, service, stuck)):
            found = watch.process_findings(period, {})
            index = int((period.start - T0) / HOUR)
            fired.append((index, [f.subject for f in found]))
    return fired


def test_a_clean_line_is_quiet() -> None:
    fired = run(40, np.random.default_rng(11))
    assert sum(len(s) for _, s in fired) <= 2  # 2 stations x 2 series x 28 tested hours


def test_an_hour_of_doubled_service_times_is_a_process_deviation_at_that_station() -> None:
    fired = dict(run(30, np.random.default_rng(12), change={25: {"edging": 16.0}}))
    assert "station:edging:cycle_time_min" in fired[25]
    assert not any("surfacing" in s for s in fired[25])
    assert all("station:edging:cycle_time_min" not in fired[h] for h in range(13, 25))


def test_a_growing_queue_is_flagged_within_a_few_hours() -> None:
    fired = dict(run(34, np.random.default_rng(13), stuck_from=25))
    hits = [h for h, s in fired.items() if "station:edging:queue_length" in s]
    assert hits and 25 <= hits[0] <= 28


def test_nothing_is_tested_before_the_baseline_is_long_enough() -> None:
    fired = dict(run(10, np.random.default_rng(14), change={8: {"edging": 40.0}}))
    assert fired[8] == []


def _close(watch: LineWatch, hour: int, rng: np.random.Generator) -> Period:
    """Feed the hour after ``hour``: it closes ``hour``."""
    (period,) = watch.feed(hour_of_moves(hour + 1, rng, {"edging": 8.0}))
    assert period.start == T0 + hour * HOUR
    return period


def _quality_watch(rng: np.random.Generator) -> LineWatch:
    watch = LineWatch(LineParams())
    assert watch.feed(hour_of_moves(0, rng, {"edging": 8.0})) == []
    for h in range(20):  # 20 hours: about one breakage in a hundred jobs, inspections centred
        counts = {("edging", "chip"): int(rng.binomial(60, 0.01))}
        errors = [(T0 + h * HOUR + i, "/od/sphere", float(rng.normal(0, 0.03))) for i in range(20)]
        found = watch.quality_findings(_close(watch, h, rng), counts, errors)
        assert found == [] or h < 12
    return watch


def test_a_breakage_spike_of_one_reason_at_one_station_is_a_quality_alert() -> None:
    rng = np.random.default_rng(15)
    watch = _quality_watch(rng)
    period = _close(watch, 20, rng)
    found = watch.quality_findings(period, {("edging", "chip"): 9, ("edging", "scratch"): 1}, [])
    assert [f.subject for f in found] == ["breakage:edging:chip"]
    assert found[0].evidence["count"] == 9 and found[0].evidence["p_value"] < 1e-4


def test_a_shift_in_one_inspected_field_is_a_quality_alert_with_the_readings() -> None:
    rng = np.random.default_rng(16)
    watch = _quality_watch(rng)
    period = _close(watch, 20, rng)
    shifted = [(T0 + 21 * HOUR + i, "/od/sphere", float(rng.normal(0.06, 0.03))) for i in range(12)]
    found = watch.quality_findings(period, {}, shifted)
    assert found and {f.subject for f in found} == {"inspection:/od/sphere"}
    assert all(f.kind == "quality" and "nelson_rules" in f.evidence for f in found)


def test_inspection_errors_are_measured_minus_ordered_of_judged_fields() -> None:
    verdict = {
        "pass": False,
        "fields": [
            {"pointer": "/od/sphere", "ordered": -2.0, "measured": -1.9, "tolerance": 0.13},
            {"pointer": "/od/axis", "ordered": None, "measured": 90.0, "tolerance": 2},
        ],
    }
    ((pointer, error),) = inspection_errors(verdict)
    assert pointer == "/od/sphere" and abs(error - 0.1) < 1e-12
    assert inspection_errors(None) == []
