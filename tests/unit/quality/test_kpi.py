"""KPIs on a small dataset computed by hand, and the empty-data contract (None, n=0)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from ils.analytics.kpi import (
    Breakage,
    JobOutcome,
    Period,
    StationPass,
    breakage_rate,
    breakage_rate_by_reason,
    breakage_rate_by_station,
    cycle_time_percentiles,
    first_pass_yield,
    jobs_per_labour_hour,
    non_adapt_rate_by_design,
    on_time_rate,
    production_kpis,
    remake_rate,
    remake_rate_by_category,
    throughput_per_station,
    wip_at,
)


def t(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


WEEK = Period(t(1), t(8))
JOBS = [
    JobOutcome(
        "A", "progressive", "P1", "1.60", t(1, 8), date(2026, 11, 4), t(3, 8), True,
        (Breakage("surfacing", "scratch"),), labour_minutes={"surfacing": 20, "edging": 10},
    ),
    JobOutcome(
        "B", "progressive", "P1", "1.60", t(2), date(2026, 11, 5), t(6), False,
        (Breakage("edging", "chip"), Breakage("surfacing", "scratch")),
        remake_category="non_adapt", non_adapt=True,
        labour_minutes={"surfacing": 30, "edging": 30},
    ),
    JobOutcome(
        "C", "single_vision", None, "cr39", t(1), date(2026, 11, 3), t(2, 12), True,
        labour_minutes={"edging": 20},
    ),
    JobOutcome("D", "single_vision", None, "cr39", t(5), date(2026, 11, 7)),
    JobOutcome("E", "progressive", "P2", "1.67", t(6), date(2026, 11, 10)),
    JobOutcome("F", "progressive", "P2", "1.67", t(1), date(2026, 11, 4), cancelled_at=t(2)),
    JobOutcome(
        "G", "progressive", "P1", "1.60", t(28, month=10), date(2026, 10, 31), t(30, month=10),
        False, (Breakage("edging", "chip"),), labour_minutes={"edging": 600},
    ),
]  # fmt: skip
PASSES = [
    StationPass("A", "surfacing", t(2)),
    StationPass("A", "edging", t(2, 10)),
    StationPass("C", "edging", t(2)),
    StationPass("B", "edging", t(5)),
    StationPass("G", "edging", t(29, month=10)),
]


def test_first_pass_yield() -> None:
    fpy = first_pass_yield(JOBS, WEEK)
    assert (fpy.numerator, fpy.denominator, fpy.n) == (2, 3, 3)
    assert fpy.value == pytest.approx(2 / 3)
    assert fpy.period == WEEK


def test_breakage_rates() -> None:
    assert breakage_rate(JOBS, WEEK).value == pytest.approx(1.0)
    by_station = breakage_rate_by_station(JOBS, WEEK)
    assert {k: v.numerator for k, v in by_station.items()} == {"edging": 1, "surfacing": 2}
    assert by_station["surfacing"].value == pytest.approx(2 / 3)
    by_reason = breakage_rate_by_reason(JOBS, WEEK)
    assert by_reason["chip"].value == pytest.approx(1 / 3)
    assert by_reason["scratch"].denominator == 3


def test_remake_and_non_adapt_rates() -> None:
    assert remake_rate(JOBS, WEEK).value == pytest.approx(1 / 3)
    assert remake_rate_by_category(JOBS, WEEK)["non_adapt"].value == pytest.approx(1 / 3)
    by_design = non_adapt_rate_by_design(JOBS, WEEK)
    assert by_design["P1"].value == pytest.approx(0.5)
    assert (by_design["unspecified"].value, by_design["unspecified"].n) == (0.0, 1)
    assert "P2" not in by_design  # nothing of that design shipped in the week


def test_on_time_rate_counts_overdue_open_jobs_as_late() -> None:
    after = on_time_rate(JOBS, WEEK, as_of=t(8))
    assert (after.numerator, after.denominator) == (2, 4)  # A, C on time; B and D late
    during = on_time_rate(JOBS, WEEK, as_of=t(7, 12))
    assert (during.numerator, during.denominator) == (2, 3)  # D still has until the end of day


def test_cycle_time_percentiles_by_lens_type() -> None:
    cycle = cycle_time_percentiles(JOBS, WEEK)
    assert cycle["progressive"]["p50"].value == pytest.approx(72.0)  # of 48 h and 96 h
    assert cycle["progressive"]["p90"].value == pytest.approx(91.2)
    assert cycle["progressive"]["p50"].n == 2
    assert cycle["single_vision"]["p90"].value == pytest.approx(36.0)


def test_wip_at_an_instant() -> None:
    assert wip_at(JOBS, t(5, 12)).value == 2  # B and D
    assert wip_at(JOBS, t(1, 12)).value == 3  # A (from 08:00), C, F


def test_throughput_per_station() -> None:
    throughput = throughput_per_station(PASSES, WEEK)
    assert throughput["edging"].value == pytest.approx(3 / 168)
    assert (throughput["surfacing"].numerator, throughput["surfacing"].denominator) == (1, 168)


def test_jobs_per_labour_hour() -> None:
    kpi = jobs_per_labour_hour(JOBS, WEEK)
    assert kpi.value == pytest.approx(3 / (110 / 60))
    assert kpi.denominator == pytest.approx(110 / 60)


def test_empty_data_gives_none_never_nan() -> None:
    empty_week = Period(t(20), t(27))
    for kpi in (
        first_pass_yield(JOBS, empty_week),
        breakage_rate([], WEEK),
        remake_rate([], WEEK),
        on_time_rate([], WEEK, t(8)),
        jobs_per_labour_hour([], WEEK),
    ):
        assert kpi.value is None
        assert kpi.n == 0
    assert cycle_time_percentiles([], WEEK) == {}
    assert throughput_per_station(PASSES, Period(t(3), t(3))) == {}
    assert wip_at([], t(1)).value == 0


def test_jobs_without_labour_give_none_per_labour_hour() -> None:
    job = JobOutcome("X", "single_vision", None, "cr39", t(1), shipped_at=t(2))
    kpi = jobs_per_labour_hour([job], WEEK)
    assert kpi.value is None
    assert (kpi.numerator, kpi.denominator, kpi.n) == (1, 0.0, 1)


def test_production_kpis_body_has_every_figure_with_its_basis() -> None:
    body = production_kpis(JOBS, PASSES, WEEK, as_of=t(8))
    assert body["first_pass_yield"]["numerator"] == 2
    assert body["cycle_time_hours"]["progressive"]["p50"]["unit"] == "hours"
    assert body["wip"]["value"] == 2  # D and E are open at the end of the week
    values = [body["on_time_rate"]["value"], body["jobs_per_labour_hour"]["value"]]
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)


def test_period_must_not_run_backwards() -> None:
    with pytest.raises(ValueError):
        Period(t(8), t(1))
