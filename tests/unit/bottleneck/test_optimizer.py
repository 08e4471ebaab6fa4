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


def test_a_machine_hour_lever_runs_an_idle_machine_and_states_its_cost() -> None:
    # Four people but three machines at surfacing: only another machine adds capacity there.
    stations = {
        "surfacing": TwinStation(staff=4, service_mean=2.7, service_cv=1.0, machines=3),
        "edging": TwinStation(staff=3, service_mean=1.0, service_cv=1.0),
    }
    line = LineState(stations, 1.0, (Route(("surfacing", "edging"), 1.0),))
    without = search(line, {"edging": {"surfacing"}}, max_moves=2)[0]
    best = search(line, {"edging": {"surfacing"}}, max_moves=2, machines=1, shift_hours=10.0)[0]
    assert best.machines == {"surfacing": 1}
    assert best.cost.machine_hours == 10.0 and best.cost.overtime_staff_hours == 0.0
    assert best.apply(line).stations["surfacing"].servers == 4
    assert best.cycle_time < without.cycle_time


def test_overtime_is_counted_in_staff_hours_and_moves_apart() -> None:
    plans = search(_line(), {"edging": {"surfacing"}}, max_moves=3, overtime=1)
    best = plans[0]
    used = sum(m.staff for m in best.moves if m.from_station == OVERTIME)
    assert best.cost.overtime_staff_hours == 8.0 * used
    assert best.cost.staff_moved == sum(m.staff for m in best.moves if m.from_station != OVERTIME)
    assert sum(best.staff.values()) == 6 + used
