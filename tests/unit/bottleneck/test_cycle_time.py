"""The machine cycle-time change test: a real slowdown is found in minutes, noise and spikes are
not taken for one."""

from __future__ import annotations

import numpy as np
import pytest

from ils.analytics.bottleneck.cycle_time import MIN_READINGS, cycle_changed_since

#: An edger's cycle (ils.sim.telemetry): 70 s, 3 s noise per reading; a station of 10 machines.
CYCLE_S, NOISE_SD, MACHINES = 70.0, 3.0, 10


def _readings(
    rng: np.random.Generator, n: int, stations: int, machines: int, spike_prob: float
) -> np.ndarray:
    """Mean cycle time of one reading of each machine per sample, with single-reading spikes of
    6 noise deviations (as the telemetry generator makes them)."""
    noise = rng.standard_normal((n, stations, machines))
    spikes = rng.random((n, stations, machines)) < spike_prob
    return np.asarray(CYCLE_S + NOISE_SD * (noise + 6.0 * spikes).mean(axis=2))


def test_a_slower_machine_is_named_within_a_few_readings() -> None:
    rng = np.random.default_rng(3)
    times = np.arange(0.0, 240.0, 0.5)
    cycle = _readings(rng, len(times), 3, MACHINES, 0.001)
    slowed = times >= 200.0
    cycle[slowed, 2] *= 1.5
    for now in (199.5, 200.0, 200.5):  # before the slowdown, and too few slow readings since
        upto = times <= now
        assert not cycle_changed_since(cycle[upto], times[upto]).changed.any()
    # the median of the last MIN_READINGS moves once most of them are slow
    now = 200.0 + 0.5 * (MIN_READINGS // 2)
    upto = times <= now
    change = cycle_changed_since(cycle[upto], times[upto])
    assert change.changed.tolist() == [False, False, True]
    assert times[change.start[2]] == pytest.approx(200.0, abs=2.5)
    assert change.before[2] == pytest.approx(70.0, rel=0.02)
    assert change.after[2] == pytest.approx(105.0, rel=0.02)
    assert change.ratio.tolist() == pytest.approx([1.0, 1.0, 1.5], rel=0.02)
    assert change.z[2] > 20.0


def test_a_machine_that_speeds_up_again_is_a_change_too() -> None:
    rng = np.random.default_rng(4)
    times = np.arange(0.0, 120.0, 0.5)
    cycle = _readings(rng, len(times), 1, MACHINES, 0.0)
    cycle[times < 100.0] *= 1.3
    change = cycle_changed_since(cycle, times)
    assert change.changed[0] and change.ratio[0] == pytest.approx(1 / 1.3, rel=0.02)


@pytest.mark.parametrize("machines", [1, 3, 10])
def test_stable_machines_with_noise_and_spikes_never_change(machines: int) -> None:
    # The generator's spike rate (ils.sim.telemetry), with a one-machine station where every
    # spike reaches the station's mean undiluted; every minute of 4 hours is checked as "now".
    for seed in range(8):
        rng = np.random.default_rng(seed)
        times = np.arange(0.0, 240.0, 0.5)
        cycle = _readings(rng, len(times), 4, machines, 0.001)
        for end in range(20, len(times), 2):
            change = cycle_changed_since(cycle[: end + 1], times[: end + 1])
            assert not change.changed.any(), (seed, times[end], change.z)


def test_a_burst_of_spikes_shorter_than_half_the_readings_is_ignored() -> None:
    times = np.arange(0.0, 100.0, 0.5)
    cycle = _readings(np.random.default_rng(5), len(times), 1, 1, 0.0)
    cycle[-2:, 0] += 6.0 * NOISE_SD  # the last two readings spike
    assert not cycle_changed_since(cycle, times).changed.any()
    cycle[-3:, 0] += 6.0 * NOISE_SD  # three of the last five: the median moves
    assert cycle_changed_since(cycle, times).changed.any()


def test_samples_without_readings_are_skipped() -> None:
    times = np.arange(0.0, 100.0, 0.5)
    cycle = _readings(np.random.default_rng(6), len(times), 2, 4, 0.0)
    cycle[:, 1] = 0.0  # a station with no machines
    cycle[::3, 0] = 0.0  # and gaps in the other
    change = cycle_changed_since(cycle, times)
    assert not change.changed.any()
    assert change.before[1] == 0.0 and change.ratio[1] == 1.0
    assert change.before[0] == pytest.approx(CYCLE_S, rel=0.02)
