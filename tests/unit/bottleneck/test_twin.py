"""The digital twin: common random numbers, agreement with M/M/c, what-if validation."""

from __future__ import annotations

import numpy as np
import pytest

from ils.analytics.bottleneck.model import BottleneckModel
from ils.analytics.bottleneck.prediction import predict_constraint
from ils.analytics.bottleneck.queueing import mmc
from ils.analytics.bottleneck.trace import StationSnapshot
from ils.analytics.bottleneck.twin import (
    Change,
    LineState,
    MachineTelemetry,
    Route,
    RunSpec,
    TwinStation,
    simulate,
)
from ils.analytics.bottleneck.whatif import WhatIf, run_what_if
from ils.errors import ValidationFailed


def _line(edging_staff: int = 2) -> LineState:
    stations = {
        "surfacing": TwinStation(staff=3, service_mean=2.0, service_cv=1.0, queue=2),
        "edging": TwinStation(staff=edging_staff, service_mean=1.5, service_cv=1.0),
    }
    return LineState(stations, 1.2, (Route(("surfacing", "edging"), 1.0),))


def test_same_seed_same_jobs_whatever_the_staffing() -> None:
    spec = RunSpec(600.0, warmup=60.0)
    a, b = simulate(_line(2), spec, 7), simulate(_line(3), spec, 7)
    assert a.jobs == b.jobs
    assert a.service_mean["surfacing"] == pytest.approx(b.service_mean["surfacing"], rel=0.02)
    assert b.cycle_time < a.cycle_time
    assert simulate(_line(2), spec, 7).cycle_time == a.cycle_time


def test_single_station_twin_agrees_with_mmc() -> None:
    stations = {"edging": TwinStation(staff=3, service_mean=2.0, service_cv=1.0)}
    line = LineState(stations, 1.2, (Route(("edging",), 1.0),))
    runs = [simulate(line, RunSpec(4000.0, warmup=400.0, sample_every=10.0), s) for s in range(4)]
    mean = sum(r.cycle_time for r in runs) / len(runs)
    assert mean == pytest.approx(mmc(1.2, 2.0, 3).sojourn, rel=0.1)
    assert runs[0].utilization["edging"] == pytest.approx(0.8, abs=0.05)


@pytest.mark.parametrize(
    ("req", "pointer"),
    [
        (WhatIf(staff={"edging": -1}), "/staff/edging"),
        (WhatIf(staff={"polishing": 2}), "/staff/polishing"),
        (WhatIf(staff={"edging": 9}), "/staff"),
        (WhatIf(replications=10_000), "/replications"),
        (WhatIf(horizon_min=1e7), "/horizon_min"),
        (WhatIf(horizon_min=10_000.0, replications=50, arrival_rate=50.0), "/replications"),
    ],
)
def test_bad_what_ifs_are_refused_with_a_pointer(req: WhatIf, pointer: str) -> None:
    line = _line()
    with pytest.raises(ValidationFailed) as err:
        run_what_if(line, req, lab_staff=6, seed=1)
    assert pointer in [i.pointer for i in err.value.issues]
    assert line == _line()


def test_what_if_compares_on_paired_replications() -> None:
    out = run_what_if(_line(), WhatIf(staff={"edging": 3, "surfacing": 3}, replications=4), 6, 3)
    assert out.change_pct < 0 and out.ci_low <= out.change_pct <= out.ci_high
    assert out.replications == 4


def test_prediction_names_the_station_the_wip_will_swamp() -> None:
    line = _line()
    assert predict_constraint(line, 60.0).station == "edging"
    swamped = line.stations["surfacing"].__class__(
        staff=3, service_mean=2.0, service_cv=1.0, queue=90
    )
    line = LineState({**line.stations, "surfacing": swamped}, 1.2, line.routes)
    assert predict_constraint(line, 60.0).station == "surfacing"


def test_model_carries_since_and_tracks_utilization() -> None:
    import numpy as np

    model = BottleneckModel(window_min=5.0)
    for t in range(20):
        model.observe(
            [
                StationSnapshot(float(t), "edging", 4, 2, 2),
                StationSnapshot(float(t), "picking", 0, 1, 2),
            ]
        )
        found = model.current(np.random.default_rng(0))
    assert found.station == "edging" and found.since == 1.0  # two samples are needed
    series = model.utilization(10.0)
    assert series.stations["edging"] == [1.0, 1.0]
    assert series.lab == [0.75, 0.75]


def test_live_snapshot_becomes_a_line_in_line_order() -> None:
    from ils.analytics.bottleneck.whatif import line_state_from_snapshot

    snap = {
        "stations": {
            "edging": {
                "staff": 2,
                "machines": 3,
                "queue": 4,
                "in_process": 2,
                "service_mean_min": 6.0,
                "service_cv": 0.7,
            },
            "surfacing": {"staff": 3, "service_mean_min": 12.0},
        },
        "arrival_rate_per_min": 0.4,
        "routes": [{"stations": ["surfacing", "edging"], "share": 1.0}],
    }
    line = line_state_from_snapshot(snap)
    assert list(line.stations) == ["surfacing", "edging"]
    assert line.stations["edging"].servers == 2 and line.stations["edging"].queue == 4
    bad = {**snap, "stations": {**snap["stations"], "polishing": {"staff": -1}}}
    with pytest.raises(ValidationFailed) as err:
        line_state_from_snapshot(bad)
    pointers = {i.pointer for i in err.value.issues}
    assert {"/stations/polishing", "/stations/polishing/staff"} <= pointers


def test_the_twin_counts_the_jobs_routed_through_each_station_as_they_enter() -> None:
    stations = {
        "surfacing": TwinStation(staff=3, service_mean=1.0, service_cv=0.5),
        "edging": TwinStation(staff=3, service_mean=1.0, service_cv=0.5),
    }
    routes = (Route(("surfacing", "edging"), 0.25), Route(("edging",), 0.75))
    run = simulate(LineState(stations, 1.0, routes), RunSpec(400.0, sample_every=5.0), 3)
    assert run.trace.routed is not None
    surfacing, edging = run.trace.routed[-1].tolist()
    assert 340 <= edging <= 460  # every job is routed through edging: all that entered
    assert surfacing / edging == pytest.approx(0.25, abs=0.06)
    # counted at entry: edging's count runs ahead of the jobs that reached it
    assert (run.trace.routed[:, 1] >= run.trace.arrived[:, 1]).all()  # type: ignore[index]


def _telemetry_line(telemetry: bool) -> LineState:
    edger = MachineTelemetry(cycle_s=70.0, noise_sd=3.0, spike_prob=0.001) if telemetry else None
    stations = {
        "surfacing": TwinStation(staff=3, service_mean=2.0, service_cv=0.6),
        "edging": TwinStation(
            staff=3, service_mean=1.5, service_cv=0.7, machines=4, telemetry=edger
        ),
    }
    return LineState(stations, 1.2, (Route(("surfacing", "edging"), 1.0),))


def test_stations_with_machines_report_their_cycle_time_and_nothing_else_moves() -> None:
    spec = RunSpec(
        300.0, sample_every=0.5, changes=(Change(200.0, service_factor={"edging": 1.5}),)
    )
    with_it, without = (
        simulate(_telemetry_line(True), spec, 11),
        simulate(_telemetry_line(False), spec, 11),
    )
    assert without.trace.machine_cycle is None
    cycle = with_it.trace.machine_cycle
    assert cycle is not None
    times = with_it.trace.times
    assert (cycle[:, 0] == 0.0).all()  # surfacing has no telemetry here
    before, after = cycle[times < 200.0, 1], cycle[times > 200.0, 1]
    assert np.median(before) == pytest.approx(70.0, rel=0.01)
    assert np.median(after) == pytest.approx(105.0, rel=0.01)
    assert np.std(before) == pytest.approx(3.0 / 2.0, rel=0.25)  # mean of 4 machines' readings
    # common random numbers: the telemetry has a stream of its own
    assert with_it.cycle_time == without.cycle_time and with_it.jobs == without.jobs
    assert with_it.service_mean == without.service_mean
    for name in ("queue", "busy", "capacity", "arrived", "service_mean", "routed"):
        assert np.array_equal(getattr(with_it.trace, name), getattr(without.trace, name)), name
    again = simulate(_telemetry_line(True), spec, 11).trace.machine_cycle
    assert again is not None and np.array_equal(again, cycle)
