"""The station model: presence by sequence, service-time pairing, throughput, utilisation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ils.domain.lims_event import Movement, Presence
from ils.domain.station import Station
from ils.services.stations import Resources, StationModel

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
EDGING = Station.EDGING


def move(job: str, status: Presence, seq: int, minute: float) -> Movement:
    return Movement(EDGING, job, status, seq, T0 + timedelta(minutes=minute))


def history() -> list[Movement]:
    moves = []
    for j in range(6):
        start = 5.0 * j
        moves += [move(f"J{j}", "queued", 1, start), move(f"J{j}", "in_process", 2, start + 1)]
        if j < 4:
            moves += [move(f"J{j}", "done", 3, start + 1 + 4 + j),
                      move(f"J{j}", "left", 4, start + 6 + j)]  # fmt: skip
    moves.append(move("J9", "queued", 1, 40))
    return moves


def model(moves: list[Movement]) -> StationModel:
    m = StationModel("lab", EDGING, Resources(staff=2, machines=3, cross_trained=("mounting",)))
    for x in moves:
        m.feed(x)
    return m


def test_snapshot_figures() -> None:
    snap = model(history()).snapshot()
    assert (snap["queue"], snap["in_process"]) == (1, 2)
    assert snap["mean_service_min"] == pytest.approx((4 + 5 + 6 + 7) / 4)
    assert snap["throughput_per_hour"] == 4.0
    # servers = min(staff 2, machines 3)
    assert snap["utilization"] == pytest.approx(4.0 * 5.5 / 60.0 / 2, abs=1e-4)
    assert snap["cross_trained"] == ["mounting"]


def test_any_arrival_order_gives_the_same_state() -> None:
    moves = history()
    expected = model(moves).snapshot()
    rng = random.Random(7)
    for _ in range(20):
        shuffled = moves[:]
        rng.shuffle(shuffled)
        assert model(shuffled).snapshot() == expected


def test_window_forgets_old_service_times() -> None:
    m = model(history())
    m.feed(move("J20", "queued", 1, 200))
    snap = m.snapshot()
    assert snap["throughput_per_hour"] == 0.0 and snap["mean_service_min"] is None
    assert snap["utilization"] is None


def test_no_resources_means_no_utilisation() -> None:
    m = StationModel("lab", EDGING)
    for x in history():
        m.feed(x)
    assert m.snapshot()["utilization"] is None


def test_snapshots_are_throttled_to_two_per_second() -> None:
    m = StationModel("lab", EDGING)
    due = [m.snapshot_due(t / 10) for t in range(0, 21)]  # 2 s in 0.1 s steps
    assert sum(due) == 5 and due[0] and due[5] and not due[4]


def test_movements_fed_twice_count_once() -> None:
    """A restarted actor rebuilds from the database, then may receive the same movements."""
    moves = history()
    twice = model(moves)
    for x in moves:
        twice.feed(x)
    assert twice.snapshot() == model(moves).snapshot()


class CountingPrunes(StationModel):
    prunes: int = 0

    def prune(self) -> None:
        self.prunes += 1
        super().prune()


def passing_jobs(jobs: int, every_s: float, first: int = 0) -> list[Movement]:
    """Jobs entering every ``every_s`` seconds, each served 4 minutes and gone a minute later."""
    moves = []
    for j in range(first, first + jobs):
        t = j * every_s / 60.0
        moves += [move(f"J-{j}", "queued", 1, t), move(f"J-{j}", "in_process", 2, t + 1),
                  move(f"J-{j}", "done", 3, t + 5), move(f"J-{j}", "left", 4, t + 6)]  # fmt: skip
    return sorted(moves, key=lambda m: m.occurred_at)


def test_a_busy_window_is_not_pruned_at_every_movement() -> None:
    """12,000 services an hour: a prune costs the whole window, so it waits until that doubled."""
    m = CountingPrunes("lab", EDGING)
    for x in passing_jobs(24_000, every_s=0.3):
        m.feed(x)
    # the last hour before the last job left holds 59 minutes of services, 200 a minute
    assert m.snapshot()["throughput_per_hour"] == pytest.approx(11_800, abs=1)
    assert m.prunes <= 10


def test_jobs_gone_from_the_station_are_forgotten_after_the_window() -> None:
    """20,000 jobs over 17 hours: the station holds about an hour of them, not all it has seen."""
    m = StationModel("lab", EDGING)
    most = 0
    for x in passing_jobs(20_000, every_s=3.0):
        m.feed(x)
        most = max(most, m.held())
    snap = m.snapshot()
    assert (snap["queue"], snap["in_process"], snap["throughput_per_hour"]) == (0, 0, 1180.0)
    # an hour is 1,200 jobs and their 1,200 service times; pruned every quarter of an hour
    assert most <= 1.3 * 2_400


def test_a_job_queued_longer_than_the_window_stays_in_the_queue() -> None:
    moves = [move("J-waiting", "queued", 1, 0.0), *passing_jobs(3_600, every_s=3.0, first=1)]
    assert model(moves).snapshot()["queue"] == 1


def test_movements_of_a_forgotten_job_fed_again_do_not_bring_it_back() -> None:
    """A catch-up's overlap or a late hand-over repeats movements the station has forgotten."""
    moves = passing_jobs(3_600, every_s=3.0)  # three hours
    m = model(moves)
    expected = m.snapshot()
    for x in moves[:100]:  # the first jobs queued and in process, without their leaving
        m.feed(x)
    assert m.snapshot() == expected
    for x in moves:
        m.feed(x)
    assert m.snapshot() == expected


def test_a_movement_fed_again_changes_nothing_even_after_later_ones() -> None:
    """A job's second start arrives before its first done; then a catch-up repeats the first start.

    Fed once, the first start is superseded by the second and the first done waits unpaired; the
    repeat must not pair them now (the answer would depend on whether a catch-up happened).
    """
    once = [
        move("J", "queued", 1, 0),
        move("J", "in_process", 2, 1),
        move("J", "in_process", 6, 9),
        move("J", "done", 3, 6),
        move("J", "done", 7, 12),
    ]
    expected = model(once).snapshot()
    assert expected["throughput_per_hour"] == 1.0
    again = model(once)
    again.feed(once[1])
    assert again.snapshot() == expected
