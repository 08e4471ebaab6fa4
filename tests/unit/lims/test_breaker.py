"""The circuit breaker as a pure state machine: time is an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ils.lims.breaker import Breaker, BreakerPolicy, BreakerState

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = BreakerPolicy(failure_threshold=3, open_s=30.0, probes=2)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def opened() -> Breaker:
    b = Breaker(POLICY)
    for i in range(3):
        b = b.failed(at(i))
    return b


def test_closed_lets_everything_through_and_counts_consecutive_failures() -> None:
    b = Breaker(POLICY).failed(at(0)).failed(at(1))
    assert b.state is BreakerState.CLOSED and b.failures == 2
    assert b.budget(at(1), 50) == 50
    assert b.succeeded(at(2)).failures == 0  # a success resets the run


def test_threshold_failures_open_it_and_open_lets_nothing_through() -> None:
    b = opened()
    assert b.state is BreakerState.OPEN and b.opened_at == at(2)
    assert b.budget(at(10), 50) == 0
    assert b.reopens_at == at(32)


def test_after_open_s_it_is_half_open_with_a_limited_number_of_probes() -> None:
    b = opened()
    assert b.current(at(31.9)).state is BreakerState.OPEN
    assert b.current(at(32)).state is BreakerState.HALF_OPEN
    assert b.budget(at(32), 50) == 2
    b = b.started(at(32))
    assert b.budget(at(32), 50) == 1
    b = b.started(at(32))
    assert b.budget(at(33), 50) == 0  # both probes in flight: nothing more


def test_probes_that_pass_close_it() -> None:
    b = opened().started(at(40)).started(at(40))
    b = b.succeeded(at(41))
    assert b.state is BreakerState.HALF_OPEN
    b = b.succeeded(at(42))
    assert b.state is BreakerState.CLOSED and b.failures == 0
    assert b.budget(at(42), 50) == 50


def test_a_failed_probe_opens_it_again_for_another_period() -> None:
    b = opened().started(at(40)).succeeded(at(40)).started(at(41)).failed(at(41))
    assert b.state is BreakerState.OPEN and b.opened_at == at(41)
    assert b.current(at(70)).state is BreakerState.OPEN
    assert b.current(at(71)).state is BreakerState.HALF_OPEN


def test_a_late_failure_while_open_does_not_extend_it() -> None:
    b = opened()
    assert b.failed(at(20)).opened_at == at(2)


def test_snapshot_round_trips_and_shows_half_open_when_due() -> None:
    b = opened()
    snap = b.snapshot(at(5))
    assert snap["state"] == "open" and snap["consecutive_failures"] == 3
    again = Breaker.from_snapshot(POLICY, snap)
    assert again.state is BreakerState.OPEN and again.opened_at == b.opened_at
    assert again.snapshot(at(40))["state"] == "half_open"
    assert Breaker.from_snapshot(POLICY, {}).state is BreakerState.CLOSED
