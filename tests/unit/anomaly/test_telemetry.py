"""The degradation generator: determinism, ground truth, and the shapes it promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ils.sim.telemetry import METRICS, DegradationParams, Machine, TelemetryGenerator

START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)
FLEET = [
    Machine(f"m{i}", kind) for i, kind in enumerate(["generator", "polisher", "edger", "coater"])
]


def _window(seed: int, days: int, params: DegradationParams | None = None):  # type: ignore[no-untyped-def]
    gen = TelemetryGenerator(FLEET, np.random.default_rng(seed), params)
    return gen.frames_between(START, START + timedelta(days=days), STEP)


def test_same_seed_same_output_and_other_seed_differs() -> None:
    a, b, c = _window(3, 20), _window(3, 20), _window(4, 20)
    assert all(np.array_equal(x.values, y.values) for x, y in zip(a.frames, b.frames, strict=True))
    assert a.events == b.events
    assert not np.array_equal(a.frames[0].values, c.frames[0].values)


def test_readings_have_the_documented_shape() -> None:
    gen = TelemetryGenerator(FLEET[:1], np.random.default_rng(1))
    window = gen.readings_between(START, START + timedelta(hours=2), STEP)
    assert len(window.readings) == 12
    first = window.readings[0]
    assert first["equipment_id"] == "m0" and first["at"] == START
    assert set(first["metrics"]) == set(METRICS)
    with pytest.raises(ValueError):
        gen.readings_between(START, START + timedelta(hours=1), STEP)  # back in time


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        TelemetryGenerator([Machine("x", "toaster")], np.random.default_rng(0))


def test_every_failure_is_followed_by_a_repair_and_a_gap_in_readings() -> None:
    params = DegradationParams(gradual_rate=2.0, sudden_rate=1.0)
    w = _window(5, 60, params)
    failures = [e for e in w.events if e["type"] == "failure"]
    assert {e["cause"] for e in failures} == {"gradual", "sudden"}
    frames = {f.equipment_id: f for f in w.frames}
    for f in failures:
        repair = next(
            e
            for e in w.events
            if e["type"] == "repair"
            and e["equipment_id"] == f["equipment_id"]
            and e["at"] > f["at"]
        )
        t = frames[f["equipment_id"]].times
        down = (t >= f["at"].timestamp()) & (t < repair["at"].timestamp())
        assert not down.any()


def test_gradual_failures_have_a_precursor_and_sudden_ones_do_not() -> None:
    params = DegradationParams(gradual_rate=2.0, sudden_rate=1.0, drift_rate=0.0, spike_prob=0.0)
    w = _window(11, 90, params)
    frames = {f.equipment_id: f for f in w.frames}
    ratio = {"gradual": [], "sudden": []}  # type: dict[str, list[float]]
    for e in (e for e in w.events if e["type"] == "failure"):
        f = frames[e["equipment_id"]]
        at = e["at"].timestamp()
        last = f.values[(f.times < at) & (f.times >= at - 86400)]
        before = f.values[(f.times < at - 11 * 86400) & (f.times >= at - 12 * 86400)]
        if len(last) < 100 or len(before) < 100:
            continue
        noise = np.std(np.diff(last, axis=0), axis=0) / np.std(np.diff(before, axis=0), axis=0)
        ratio[e["cause"]].append(float(noise.mean()))
    assert ratio["gradual"] and ratio["sudden"]
    assert min(ratio["gradual"]) > 1.4  # wear makes readings noisier before a gradual failure
    assert max(ratio["sudden"]) < 1.2  # nothing announces a sudden one
