"""The work heading for each station: its rate from the line's entry rate and the routed share,
and a backlog left from before the scored window (hand-built traces)."""

from __future__ import annotations

import numpy as np
import pytest

from ils.analytics.bottleneck.demand import routed_rate
from ils.analytics.bottleneck.detection import detect
from ils.analytics.bottleneck.trace import StationTrace

STATIONS = ("picking", "surfacing", "edging")


def _entries(times: np.ndarray, quiet_from: float) -> np.ndarray:
    """One job a minute enters, except every other minute from ``quiet_from`` (a lull)."""
    lull = (times >= quiet_from) & (times.astype(int) % 2 == 1)
    return np.cumsum(np.where(times > 0, np.where(lull, 0, 1), 0)).astype(np.int64)


def test_the_rate_after_a_new_mix_is_the_entry_rate_times_the_share_since_it() -> None:
    # 200 minutes at one job a minute, 40% routed through surfacing; from minute 190 the mix
    # routes every entering job through it, but only 5 jobs enter in the 10 minutes since (a
    # lull of the entry process, not of the demand). The count since the change says 0.5 a
    # minute; the share since it (5 of 5; posterior mean 5.5/6) times the entry rate measured
    # over the look-back (196 jobs in 200 minutes) says about 0.9.
    times = np.arange(201, dtype=float)
    entered = _entries(times, 190.0)
    at = int(np.searchsorted(times, 190.0))
    surf = np.where(times < 190, np.floor(0.4 * entered), np.floor(0.4 * entered[at]))
    surf = surf + np.maximum(entered - entered[at], 0) * (times >= 190)
    routed = np.stack([entered, surf, entered], 1).astype(np.int64)
    share_from = np.array([0, at, 0])
    rate, count = routed_rate(routed, entered, times, share_from)
    assert count[1] == 5.0
    entry = (entered[-1] + 0.5) / 200.0
    assert rate[1] == pytest.approx(entry * 5.5 / 6.0)
    assert rate[1] > 0.85 > 0.5  # the count ratio since the change: 5 jobs in 10 minutes
    assert rate[2] == pytest.approx(entry * (entered[-1] + 0.5) / (entered[-1] + 1.0))
    assert rate[0] == pytest.approx(rate[2])


def test_the_entry_rate_is_measured_since_its_own_change() -> None:
    # The entry rate doubles at minute 150 and the mix stays (half of the jobs through
    # surfacing): the rate is measured on the entries since the doubling, not the look-back.
    times = np.arange(201, dtype=float)
    entered = np.where(times < 150, times, 150 + 2 * (times - 150)).astype(np.int64)
    routed = np.stack([entered, entered // 2, entered], 1)
    rate, _ = routed_rate(routed, entered, times, np.zeros(3, dtype=int))
    assert rate[0] > 1.7
    assert rate[1] == pytest.approx(rate[0] / 2, rel=0.02)


def _held_backlog_trace(growing: bool) -> StationTrace:
    """One job a minute enters and passes picking and edging (8 servers, all busy, 8 minutes a
    job: load 1.0, its queue steady); 90% of them surfacing (10 servers, all busy, 12 minutes:
    load 1.08, a queue growing by one job in 15 minutes). Edging holds 30 jobs waiting, left
    from an earlier constraint; with ``growing`` they arrived in the last 15 minutes instead."""
    n = 201
    times = np.arange(n, dtype=float)
    entered = times.astype(np.int64)
    surf = np.floor(0.9 * times).astype(np.int64)
    routed = np.stack([entered, surf, entered], 1)
    queue = np.zeros((n, 3), dtype=np.int64)
    queue[:, 1] = np.floor(times / 15.0)
    queue[:, 2] = np.where(times >= 185, np.minimum(2 * (times - 185), 30), 0) if growing else 30
    busy = np.tile(np.array([1, 10, 8]), (n, 1)).astype(np.int64)
    cap = np.tile(np.array([3, 10, 8]), (n, 1)).astype(np.int64)
    served = np.stack([times, np.floor(times / 1.2), times], 1).astype(np.int64)
    arrived = served + queue + busy
    mean = np.tile(np.array([1.0, 12.0, 8.0]), (n, 1))
    return StationTrace(times, STATIONS, queue, busy, cap, arrived, mean, routed)


def test_a_backlog_left_from_before_the_window_is_not_load_arriving_now() -> None:
    held = detect(_held_backlog_trace(False), np.random.default_rng(0), score_from=185.0)
    assert held.station == "surfacing"
    assert held.evidence["backlog_load"]["edging"] == pytest.approx(1.0, rel=0.01)
    assert held.evidence["backlog_load"]["surfacing"] > 1.08
    growing = detect(_held_backlog_trace(True), np.random.default_rng(0), score_from=185.0)
    assert growing.station == "edging"  # 30 jobs more waiting than 15 minutes ago
    assert growing.evidence["backlog_load"]["edging"] > 2.0
