"""The optimiser on a small line with a known best move."""

from __future__ import annotations

from ils.analytics.bottleneck.optimizer import OVERTIME, Move, search
from ils.analytics.bottleneck.twin import LineState, Route, TwinStation


def _line() -> LineState:
    stations = {
        "surfacing": TwinStation(staff=3, service_mean=2.5, service_cv=1.0),
        "edging": TwinStation(staff=3, service_mean=1.0, service_cv=1.0),
    }
    return LineState(stations, 1.0, (Route(("surfacing", "edging"), 1.0),))


def test_best_move_is_one_person_to_the_loaded_station() -> None:
    plans = search(_line(), {"edging": {"surfacing"}}, max_moves=3)
    best = plans[0]
    assert best.moves == (Move("edging", "surfacing", 1),)
    assert best.change_pct < -30.0
    assert best.staff == {"surfacing": 4, "edging": 2}


def test_moves_respect_cross_training() -> None:
    plans = search(_line(), {"surfacing": {"edging"}}, max_moves=2)
    assert plans[0].moves == ()


def test_a_station_with_work_keeps_one_person() -> None:
    line = _line().with_staff({"surfacing": 3, "edging": 1})
    plans = search(line, {"edging": {"surfacing"}}, max_moves=2)
    assert all(p.staff["edging"] >= 1 for p in plans)


def test_overtime_adds_staff_without_a_donor() -> None:
    plans = search(_line(), {}, max_moves=1, overtime=1)
    assert plans[0].moves == (Move(OVERTIME, "surfacing", 1),)
    assert sum(plans[0].staff.values()) == 7
