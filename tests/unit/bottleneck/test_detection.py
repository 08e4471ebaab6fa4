"""Detection on hand-built station traces with a known constraint."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ils.analytics.bottleneck.demand import share_changed_since
from ils.analytics.bottleneck.detection import (
    active_periods,
    detect,
    detect_over_time,
    first_hit,
)
from ils.analytics.bottleneck.trace import StationSnapshot, StationTrace, trace_from_snapshots

STATIONS = ("picking", "surfacing", "edging")


def _trace(queue: np.ndarray, busy: np.ndarray, servers: tuple[int, ...]) -> StationTrace:
    times = np.arange(queue.shape[0], dtype=float)
    cap = np.tile(np.array(servers), (queue.shape[0], 1))
    return StationTrace(times, STATIONS, queue, busy, cap)


def _intermittent(n: int, rng: np.random.Generator, p: float) -> np.ndarray:
    return (rng.random(n) < p).astype(np.int64)


def test_the_always_saturated_station_is_the_constraint() -> None:
    rng = np.random.default_rng(1)
    n = 120
    queue = np.stack([_intermittent(n, rng, 0.3), np.full(n, 4), _intermittent(n, rng, 0.4)], 1)
    busy = np.stack([np.ones(n), np.full(n, 3), np.ones(n)], 1).astype(np.int64)
    found = detect(_trace(queue, busy, (2, 3, 2)), np.random.default_rng(0))
    assert found.station == "surfacing"
    assert found.confidence > 0.9
    assert found.evidence["method"] == "active_period"


def test_no_saturated_station_means_no_constraint() -> None:
    n = 30
    zeros = np.zeros((n, 3), dtype=np.int64)
    found = detect(_trace(zeros, zeros + 1, (2, 2, 2)), np.random.default_rng(0))
    assert found.station is None
    assert found.confidence == 0.0


def test_shifting_bottleneck_is_flagged_in_the_overlap() -> None:
    n = 100
    queue = np.zeros((n, 3), dtype=np.int64)
    queue[:60, 1] = 3  # surfacing saturated until minute 59
    queue[45:, 2] = 3  # edging from minute 45: overlap 45..59
    busy = np.ones((n, 3), dtype=np.int64)
    periods = active_periods(_trace(queue, busy, (2, 2, 2)))
    assert periods.momentary[10] == 1 and periods.momentary[90] == 2
    assert periods.shifting[50, 1] and periods.shifting[50, 2]
    assert not periods.shifting[10].any() and not periods.shifting[90].any()


def test_detection_over_time_follows_the_shift_and_reports_since() -> None:
    n = 100
    queue = np.zeros((n, 3), dtype=np.int64)
    queue[:60, 1] = 3
    queue[45:, 2] = 3
    busy = np.ones((n, 3), dtype=np.int64)
    series = detect_over_time(_trace(queue, busy, (2, 2, 2)), 10.0, 1.0, np.random.default_rng(0))
    assert series[0].station == "surfacing"
    assert series[-1].station == "edging"
    delay = first_hit(series, "edging", after=60.0)
    assert delay is not None and delay <= 5.0
    assert series[-1].since is not None and 60.0 <= series[-1].since <= 65.0


def test_snapshots_align_and_carry_the_last_state_forward() -> None:
    trace = trace_from_snapshots(
        [
            StationSnapshot(0.0, "edging", 2, 1, 1),
            StationSnapshot(0.0, "picking", 0, 1, 2),
            StationSnapshot(1.0, "picking", 1, 2, 2),
        ]
    )
    assert trace.stations == ("edging", "picking")
    assert trace.queue.tolist() == [[2, 0], [2, 1]]
    assert trace.saturated().tolist() == [[True, False], [True, True]]


def test_offered_load_names_a_capacity_cut_before_much_of_a_queue_builds() -> None:
    # Surfacing (8-minute jobs, 3 every 4 minutes) lost half its 8 servers at minute 20: ten
    # minutes on only 2 jobs wait and edging is 75% busy, but only surfacing receives more work
    # than it can now serve.
    n = 31
    times = np.arange(n, dtype=float)
    cut = times >= 20
    surf_queue = np.where(cut, np.floor(0.25 * (times - 20)), 0).astype(np.int64)
    queue = np.stack([np.zeros(n), surf_queue, np.zeros(n)], 1).astype(np.int64)
    busy = np.stack([np.ones(n), np.where(cut, 4, 6), np.full(n, 3)], 1).astype(np.int64)
    cap = np.stack([np.full(n, 3), np.where(cut, 4, 8), np.full(n, 4)], 1).astype(np.int64)
    arrived = np.floor(np.outer(times, np.array([1.0, 0.75, 0.6]))).astype(np.int64)
    mean = np.tile(np.array([1.0, 8.0, 5.0]), (n, 1))
    trace = StationTrace(times, STATIONS, queue, busy, cap, arrived, mean)
    found = detect(trace, np.random.default_rng(0), score_from=15.0)
    assert found.station == "surfacing"
    assert found.evidence["method"] == "backlog_load"
    loads = found.evidence["backlog_load"]
    assert loads["surfacing"] > 1.0 > loads["edging"]
    assert found.confidence > 0.8


def test_a_jump_in_arrivals_is_measured_from_the_change() -> None:
    # Edging's arrivals double at minute 150 of 180 (a new product mix): the rate since the
    # change counts, not the long-run average, so edging overtakes surfacing.
    n = 181
    times = np.arange(n, dtype=float)
    edging_arrivals = np.where(times < 150, 0.4 * times, 60 + 0.9 * (times - 150))
    arrived = np.floor(np.stack([times, 0.7 * times, edging_arrivals], 1)).astype(np.int64)
    queue = np.zeros((n, 3), dtype=np.int64)
    busy = np.tile(np.array([1, 5, 1]), (n, 1)).astype(np.int64)
    busy[150:, 2] = 3  # with no queue, twice the jobs keep more servers busy
    cap = np.tile(np.array([3, 7, 3]), (n, 1)).astype(np.int64)
    mean = np.tile(np.array([1.0, 8.0, 3.0]), (n, 1))
    trace = StationTrace(times, STATIONS, queue, busy, cap, arrived, mean)
    found = detect(trace, np.random.default_rng(0), score_from=165.0)
    assert found.station == "edging"
    assert found.evidence["rate_over_min"]["edging"] <= 30.0
    assert found.evidence["rate_over_min"]["surfacing"] == 180.0
    steady = detect(trace.window(0.0, 140.0), np.random.default_rng(0), score_from=125.0)
    assert steady.station == "surfacing"


def _fluid(rate: float, service: np.ndarray, servers: int) -> tuple[np.ndarray, ...]:
    """A station fed ``rate`` jobs a minute, sampled every minute: cumulative arrivals, jobs
    waiting and servers busy when each server finishes one job per ``service[t]`` minutes."""
    n = len(service)
    arrived, queue, busy = (np.zeros(n, dtype=np.int64) for _ in range(3))
    done = 0.0
    for t in range(1, n):
        arrived[t] = int(rate * t)
        jobs = arrived[t] - int(done)
        busy[t] = min(jobs, servers)
        queue[t] = jobs - busy[t]
        done += busy[t] / service[t]
    return arrived, queue, busy


def _slowed_edging_trace() -> StationTrace:
    """Edging (5 servers, 0.6 jobs/min) takes 5 minutes a job until minute 150, then 10 (a
    machine at half speed: load 0.6 -> 1.2); its arrivals do not change. Surfacing runs
    steadily at 0.85 (0.7 jobs/min, 8.5 minutes, 7 servers)."""
    n = 181
    times = np.arange(n, dtype=float)
    cols = [
        _fluid(1.0, np.full(n, 1.0), 3),
        _fluid(0.7, np.full(n, 8.5), 7),
        _fluid(0.6, np.where(times >= 150, 10.0, 5.0), 5),
    ]
    arrived, queue, busy = (np.stack([c[k] for c in cols], 1) for k in range(3))
    cap = np.tile(np.array([3, 7, 5]), (n, 1)).astype(np.int64)
    mean = np.tile(np.array([1.0, 8.5, 5.0]), (n, 1))
    return StationTrace(times, STATIONS, queue, busy, cap, arrived, mean)


def test_a_slower_machine_is_measured_from_the_slowdown() -> None:
    # Fifteen minutes after edging halves its speed, busy minutes per departure over the whole
    # look-back still say 5.4 (load 0.72, below surfacing's 0.85); since the change point on
    # departures per busy server-minute they say about 10 (load above 1).
    trace = _slowed_edging_trace()
    before = detect(trace.window(0.0, 148.0), np.random.default_rng(0), score_from=133.0)
    assert before.station == "surfacing"
    assert before.evidence["service_over_min"]["edging"] == 148.0
    found = detect(trace.window(0.0, 165.0), np.random.default_rng(0), score_from=150.0)
    assert found.station == "edging"
    assert found.evidence["service_over_min"]["edging"] <= 20.0
    assert found.evidence["service_mean_min"]["edging"] > 9.0
    assert (
        found.evidence["backlog_load"]["edging"] > 1.0 > found.evidence["backlog_load"]["surfacing"]
    )
    assert found.evidence["service_over_min"]["surfacing"] == 165.0
    assert 0.5 < found.confidence < 1.0  # the few departures since the change leave doubt


def _served(arrived: np.ndarray, service: float, servers: int) -> tuple[np.ndarray, np.ndarray]:
    """Jobs waiting and servers busy each minute at a station fed ``arrived`` (cumulative) whose
    servers each finish one job per ``service`` minutes."""
    queue, busy = np.zeros_like(arrived), np.zeros_like(arrived)
    done = 0.0
    for t in range(1, len(arrived)):
        jobs = arrived[t] - int(done)
        busy[t] = min(jobs, servers)
        queue[t] = jobs - busy[t]
        done += busy[t] / service
    return queue, busy


def _new_mix_trace() -> StationTrace:
    """One job a minute enters at picking. Until minute 150, 40% of them are routed through
    surfacing (10 servers, 12 minutes: load 0.48), then 90% (load 1.08); they reach surfacing 5
    minutes after entering. Edging takes every job (8 servers, 7 minutes: load 0.875)."""
    n = 163
    times = np.arange(n, dtype=float)
    routed_surf = np.floor(np.where(times < 150, 0.4 * times, 60 + 0.9 * (times - 150)))
    lagged = np.concatenate([np.zeros(5), routed_surf[:-5]])
    entered = np.floor(times)
    arrived = np.stack([entered, lagged, np.concatenate([np.zeros(10), entered[:-10]])], 1)
    arrived = arrived.astype(np.int64)
    cols = [
        _served(arrived[:, j], s, k) for j, (s, k) in enumerate([(1.0, 3), (12.0, 10), (7.0, 8)])
    ]
    queue, busy = (np.stack([c[i] for c in cols], 1) for i in range(2))
    cap = np.tile(np.array([3, 10, 8]), (n, 1)).astype(np.int64)
    mean = np.tile(np.array([1.0, 12.0, 7.0]), (n, 1))
    routed = np.stack([entered, routed_surf, entered], 1).astype(np.int64)
    return StationTrace(times, STATIONS, queue, busy, cap, arrived, mean, routed)


def test_a_new_mix_names_the_station_it_is_routed_to_before_its_arrivals_jump() -> None:
    # Twelve minutes after the mix changed surfacing has received 6 jobs of the new mix, too few
    # to tell from its own arrivals; 10 of the 12 jobs that entered since are routed through it.
    trace = _new_mix_trace()
    found = detect(trace, np.random.default_rng(0), score_from=147.0)
    assert found.station == "surfacing"
    assert found.evidence["rate_signal"]["surfacing"] == "routed_share_since_change"
    assert found.evidence["rate_signal"]["edging"] == "routed"
    assert found.evidence["rate_over_min"]["surfacing"] <= 15.0
    assert found.evidence["backlog_load"]["surfacing"] > 1.0
    own_arrivals = detect(replace(trace, routed=None), np.random.default_rng(0), score_from=147.0)
    assert own_arrivals.station == "edging"
    assert own_arrivals.evidence["rate_signal"]["surfacing"] == "arrivals"
    steady = detect(trace.window(0.0, 148.0), np.random.default_rng(0), score_from=133.0)
    assert steady.station == "edging"


def test_the_routed_share_changes_only_where_the_mix_changed() -> None:
    times = np.arange(121, dtype=float)
    entered = np.floor(times)
    share = np.floor(np.where(times < 100, 0.3 * times, 30 + 0.8 * (times - 100)))
    routed = np.stack([entered, share, np.floor(0.5 * times)], 1).astype(np.int64)
    start = share_changed_since(routed, entered, times, (5.0, 10.0, 20.0, 40.0), 8.0)
    assert start[0] == 0 and start[2] == 0
    assert times[start[1]] == 100.0


def test_snapshots_carry_the_jobs_routed_through_each_station() -> None:
    snaps = [
        StationSnapshot(float(t), name, 0, 1, 2, arrived=t, service_mean=1.0, routed=r * t)
        for t in range(3)
        for name, r in (("edging", 2), ("surfacing", 1))
    ]
    trace = trace_from_snapshots(snaps)
    assert trace.routed is not None
    assert trace.routed.tolist() == [[0, 0], [2, 1], [4, 2]]
    assert trace_from_snapshots([replace(s, routed=0) for s in snaps]).routed is None


def _with_machine_cycle(trace: StationTrace, seed: int) -> StationTrace:
    """The trace with one reading a minute of surfacing's and edging's machines (picking has
    none): 95 s and 70 s with 2% noise and a few single-reading spikes; edging's cycle doubles
    with its service time at minute 150."""
    rng = np.random.default_rng(seed)
    n = len(trace)
    base = np.tile(np.array([0.0, 95.0, 70.0]), (n, 1))
    base[trace.times >= 150, 2] *= 2.0
    cycle = base * (1.0 + 0.02 * rng.standard_normal((n, 3)))
    cycle[rng.random((n, 3)) < 0.02] *= 1.12
    cycle[:, 0] = 0.0
    return replace(trace, machine_cycle=cycle)


def test_a_slower_machine_is_named_from_its_cycle_time_within_a_few_samples() -> None:
    # Three minutes after the slowdown edging's departures say nothing yet: without telemetry
    # surfacing (0.85) is named; its machines' cycle time has doubled, which doubles its service
    # mean (5 -> 10 minutes, load 1.2) from the change on.
    plain = _slowed_edging_trace()
    trace = _with_machine_cycle(plain, 0)
    early = detect(trace.window(0.0, 149.0), np.random.default_rng(0), score_from=134.0)
    assert early.station == "surfacing"
    assert early.evidence["service_signal"]["edging"] != "machine_cycle_time"
    without = detect(plain.window(0.0, 153.0), np.random.default_rng(0), score_from=138.0)
    assert without.station == "surfacing"
    found = detect(trace.window(0.0, 153.0), np.random.default_rng(0), score_from=138.0)
    assert found.station == "edging"
    ev = found.evidence
    assert ev["service_signal"]["edging"] == "machine_cycle_time"
    assert ev["service_signal"]["surfacing"] != "machine_cycle_time"
    assert ev["service_mean_min"]["edging"] == pytest.approx(10.0, rel=0.1)
    cycle = ev["machine_cycle_s"]["edging"]
    assert cycle["before"] == pytest.approx(70.0, rel=0.03)
    assert cycle["after"] == pytest.approx(140.0, rel=0.03)
    assert 145.0 <= cycle["since_min"] <= 150.0
    assert (
        ev["machine_cycle_s"]["surfacing"]["before"] == ev["machine_cycle_s"]["surfacing"]["after"]
    )
    assert "picking" not in ev["machine_cycle_s"]


def test_stable_machine_telemetry_changes_no_station() -> None:
    # Before edging slows, the same telemetry (noise, spikes) leaves every station's service
    # mean as the departures measure it.
    for seed in range(5):
        trace = _with_machine_cycle(_slowed_edging_trace(), seed).window(0.0, 149.0)
        plain = _slowed_edging_trace().window(0.0, 149.0)
        for now in range(40, 150, 3):
            found = detect(trace.window(0.0, now), np.random.default_rng(0), score_from=now - 15)
            ref = detect(plain.window(0.0, now), np.random.default_rng(0), score_from=now - 15)
            assert "machine_cycle_time" not in found.evidence["service_signal"].values()
            assert found.evidence["service_mean_min"] == ref.evidence["service_mean_min"]
            assert found.station == ref.station


def test_snapshots_carry_the_machines_cycle_time() -> None:
    snaps = [
        StationSnapshot(float(t), name, 0, 1, 2, arrived=t, service_mean=1.0, machine_cycle_s=c)
        for t in range(4)
        for name, c in (("edging", 70.0 + t), ("mounting", 0.0))
    ]
    trace = trace_from_snapshots(snaps)
    assert trace.machine_cycle is not None
    assert trace.machine_cycle[:, 0].tolist() == [70.0, 71.0, 72.0, 73.0]
    assert trace.machine_cycle[:, 1].tolist() == [0.0] * 4
    assert trace.window(1.0, 2.0).machine_cycle.tolist() == [[71.0, 0.0], [72.0, 0.0]]  # type: ignore[union-attr]
    no_telemetry = [replace(s, machine_cycle_s=0.0) for s in snaps]
    assert trace_from_snapshots(no_telemetry).machine_cycle is None
