"""Queueing formulas against textbook M/M/c and Jackson-network results."""

from __future__ import annotations

import math

import pytest

from ils.analytics.bottleneck.queueing import (
    StationLoad,
    departure_scv,
    erlang_c,
    ggc_wait,
    mmc,
    tandem_line,
)


def _erlang_c_by_sum(c: int, a: float) -> float:
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) * c / (c - a)
    return tail / (head + tail)


def test_mm1_matches_closed_form() -> None:
    r = mmc(arrival_rate=0.8, service_mean=1.0, servers=1)
    assert r.wait == pytest.approx(4.0)
    assert r.in_system == pytest.approx(4.0)
    assert r.p_wait == pytest.approx(0.8)


def test_mm2_matches_hand_computed_values() -> None:
    r = mmc(arrival_rate=1.5, service_mean=1.0, servers=2)
    assert r.p_wait == pytest.approx(4.5 / 7)
    assert r.queue_length == pytest.approx(27 / 14)
    assert r.wait == pytest.approx(27 / 14 / 1.5)


@pytest.mark.parametrize(("c", "a"), [(10, 8.0), (3, 2.5), (50, 45.0), (1, 0.3)])
def test_erlang_c_equals_the_textbook_sum(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(_erlang_c_by_sum(c, a), rel=1e-9)


def test_unstable_queue_has_infinite_wait() -> None:
    assert math.isinf(mmc(1.0, 2.0, 2).wait)
    assert math.isinf(ggc_wait(1.0, 2.0, 2, 1.0, 1.0))


def test_allen_cunneen_is_exact_for_md1() -> None:
    # Pollaczek-Khinchine: deterministic service halves the M/M/1 wait.
    assert ggc_wait(0.5, 1.0, 1, 1.0, 0.0) == pytest.approx(0.5)
    assert ggc_wait(0.5, 1.0, 1, 1.0, 0.0, method="kingman_whitt") == pytest.approx(0.5)


def test_departures_of_mmc_are_poisson() -> None:
    assert departure_scv(0.9, 4, 1.0, 1.0) == pytest.approx(1.0)
    assert departure_scv(0.9, 1, 1.0, 0.0) < 1.0


def test_tandem_of_mm1_is_the_jackson_sum() -> None:
    line = tandem_line(0.5, 1.0, [StationLoad("a", 1, 1.0, 1.0), StationLoad("b", 1, 1.5, 1.0)])
    assert line.cycle_time == pytest.approx(2.0 + 6.0)
    assert line.utilization() == pytest.approx({"a": 0.5, "b": 0.75})


def test_skipped_share_only_pays_its_visit() -> None:
    full = tandem_line(0.5, 1.0, [StationLoad("a", 1, 1.0, 1.0, visit=1.0)])
    half = tandem_line(1.0, 1.0, [StationLoad("a", 1, 1.0, 1.0, visit=0.5)])
    assert half.cycle_time == pytest.approx(0.5 * full.cycle_time)
