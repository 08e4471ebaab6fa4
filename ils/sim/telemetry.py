"""Equipment telemetry with known ground truth: the degradation generator.

Machines of kinds ``generator`` / ``polisher`` / ``edger`` / ``coater`` report ``vibration_mm_s``,
``spindle_temp_c``, ``motor_current_a`` and ``cycle_time_s``. Over time each machine may

- degrade gradually (bearing, motor or tooling wear: several metrics move and get noisier, slowly at
  first then faster) until it fails (event ``failure``, cause ``gradual``);
- fail suddenly with no precursor at all (``failure``, cause ``sudden``);
- have a sensor drift away (one metric only, smooth, harmless: no failure follows);
- be maintained on a schedule (``maintenance``: resets wear and sensor drift). A machine that is
  wearing keeps running until it fails (the crew does not catch it), so every gradual failure ends
  in a ``failure`` event and the ground truth stays clean;
- be repaired after a failure (``repair``, after a downtime with no readings).

Readings follow the shift pattern (two shifts 06:00-22:00, a quiet night and a quieter Sunday) and
carry occasional single-reading spikes. Everything is drawn from the seeded
``numpy.random.Generator`` passed in: the same machines, parameters, generator seed and sequence
of calls give the same output.

Public API (stable; the lab simulator uses it)::

    gen = TelemetryGenerator(machines, rng, params=DegradationParams())
    window = gen.readings_between(start, end, timedelta(minutes=10))
    window.readings  # [{"equipment_id", "at": datetime UTC, "metrics": {name: float}}]
    window.events    # [{"equipment_id", "type": failure|maintenance|repair, "at", "cause"}]
    window.drifts    # [{"equipment_id", "metric", "start", "rate_per_day"}] (harmless drifts)
    frames = gen.frames_between(start, end, step)  # same, as numpy arrays per machine (fast)

Successive calls must move forward in time (``start`` >= the previous ``end``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

METRICS: tuple[str, ...] = ("vibration_mm_s", "spindle_temp_c", "motor_current_a", "cycle_time_s")
_VIB, _TEMP, _CUR, _CYC = range(4)

#: Per kind: (baseline, noise standard deviation) for each metric in METRICS order.
KIND_BASELINES: dict[str, tuple[tuple[float, float], ...]] = {
    "generator": ((2.0, 0.15), (42.0, 0.6), (12.0, 0.4), (95.0, 4.0)),
    "polisher": ((1.2, 0.10), (35.0, 0.5), (6.0, 0.25), (180.0, 6.0)),
    "edger": ((1.6, 0.12), (38.0, 0.5), (8.0, 0.3), (70.0, 3.0)),
    "coater": ((0.6, 0.05), (60.0, 0.8), (20.0, 0.6), (900.0, 25.0)),
}
KINDS: tuple[str, ...] = tuple(KIND_BASELINES)

#: Wear modes: relative effect on each metric at full severity (vibration, current, cycle time are
#: multiplicative; temperature is in degrees C).
WEAR_MODES: dict[str, tuple[float, float, float, float]] = {
    "bearing": (0.3, 1.5, 0.01, 0.005),
    "motor": (0.04, 1.2, 0.06, 0.01),
    "tooling": (0.12, 0.4, 0.015, 0.04),
}

_DAY = 86400.0
_HOUR = 3600.0


@dataclass(frozen=True)
class Machine:
    equipment_id: str
    kind: str
    station: str = ""


@dataclass(frozen=True)
class DegradationParams:
    """Rates are per machine per 30 days; durations in hours unless named otherwise."""

    gradual_rate: float = 0.5
    sudden_rate: float = 0.25
    drift_rate: float = 0.4
    wear_days: tuple[float, float] = (3.0, 10.0)
    wear_exponent: float = 2.5
    wear_noise_gain: float = 1.0
    drift_per_day_sd: tuple[float, float] = (0.3, 1.0)
    drift_days: tuple[float, float] = (5.0, 15.0)
    maintenance_days: tuple[float, float] = (25.0, 35.0)
    maintenance_h: float = 2.0
    repair_h: tuple[float, float] = (6.0, 24.0)
    spike_prob: float = 0.001
    machine_spread: float = 0.06


@dataclass
class TelemetryFrame:
    """One machine's readings as arrays: ``times`` in epoch seconds (UTC), ``values[i, j]`` the
    reading of ``metrics[j]`` at ``times[i]``."""

    equipment_id: str
    kind: str
    metrics: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray


@dataclass
class FrameWindow:
    frames: list[TelemetryFrame]
    events: list[dict[str, Any]]
    drifts: list[dict[str, Any]]


@dataclass
class ReadingWindow:
    readings: list[dict[str, Any]]
    events: list[dict[str, Any]]
    drifts: list[dict[str, Any]]


@dataclass
class _Wear:
    onset: float
    failure_at: float
    mode: str


@dataclass
class _Drift:
    start: float
    metric: int
    rate_per_day: float
    days: float


@dataclass
class _Plan:
    """What happens to one machine, planned ahead of rendering."""

    equipment_id: str
    clock: float
    next_maintenance: float
    next_onset: float
    next_sudden: float
    next_drift: float
    events: list[dict[str, Any]] = field(default_factory=list)
    wears: list[_Wear] = field(default_factory=list)
    drifts: list[_Drift] = field(default_factory=list)
    downtimes: list[tuple[float, float]] = field(default_factory=list)
    resets: list[float] = field(default_factory=list)


class TelemetryGenerator:
    """Seeded generator of readings and ground-truth events for a set of machines."""

    def __init__(
        self,
        machines: Sequence[Machine],
        rng: np.random.Generator,
        params: DegradationParams | None = None,
    ) -> None:
        for m in machines:
            if m.kind not in KIND_BASELINES:
                raise ValueError(f"unknown machine kind {m.kind!r}; known: {', '.join(KINDS)}")
        self.machines = list(machines)
        self.params = params or DegradationParams()
        self._rng = rng
        self._scale = {
            m.equipment_id: 1.0 + self.params.machine_spread * rng.standard_normal(4)
            for m in self.machines
        }
        self._plans: dict[str, _Plan] = {}
        self._cursor: float | None = None

    def frames_between(self, start: datetime, end: datetime, step: timedelta) -> FrameWindow:
        t0, t1 = _epoch(start), _epoch(end)
        if self._cursor is not None and t0 < self._cursor:
            raise ValueError("telemetry windows must move forward in time")
        self._cursor = t1
        grid = np.arange(t0, t1, step.total_seconds())
        frames: list[TelemetryFrame] = []
        events: list[dict[str, Any]] = []
        drifts: list[dict[str, Any]] = []
        for m in self.machines:
            plan = self._plan_for(m, t0)
            _extend(plan, t1, self.params, self._rng)
            frames.append(self._render(m, plan, grid))
            events += [e for e in plan.events if t0 <= _epoch(e["at"]) < t1]
            drifts += [_drift_record(m, d) for d in plan.drifts if t0 <= d.start < t1]
        events.sort(key=lambda e: (e["at"], e["equipment_id"]))
        return FrameWindow(frames, events, drifts)

    def readings_between(self, start: datetime, end: datetime, step: timedelta) -> ReadingWindow:
        window = self.frames_between(start, end, step)
        readings: list[dict[str, Any]] = []
        for f in window.frames:
            for t, row in zip(f.times, f.values, strict=True):
                metrics = {name: round(float(v), 4) for name, v in zip(f.metrics, row, strict=True)}
                readings.append({"equipment_id": f.equipment_id, "at": _dt(t), "metrics": metrics})
        readings.sort(key=lambda r: (r["at"], r["equipment_id"]))
        return ReadingWindow(readings, window.events, window.drifts)

    def _plan_for(self, m: Machine, t0: float) -> _Plan:
        if m.equipment_id not in self._plans:
            p, rng = self.params, self._rng
            self._plans[m.equipment_id] = _Plan(
                equipment_id=m.equipment_id,
                clock=t0,
                next_maintenance=t0 + rng.uniform(0.0, p.maintenance_days[1]) * _DAY,
                next_onset=t0 + _exp(rng, p.gradual_rate),
                next_sudden=t0 + _exp(rng, p.sudden_rate),
                next_drift=t0 + _exp(rng, p.drift_rate),
            )
        return self._plans[m.equipment_id]

    def _render(self, m: Machine, plan: _Plan, grid: np.ndarray) -> TelemetryFrame:
        up = np.ones(grid.size, dtype=bool)
        for a, b in plan.downtimes:
            up &= ~((grid >= a) & (grid < b))
        t = grid[up]
        base = np.array([b for b, _ in KIND_BASELINES[m.kind]]) * self._scale[m.equipment_id]
        sd = np.array([s for _, s in KIND_BASELINES[m.kind]])
        load = _load(t)
        values = np.empty((t.size, 4))
        values[:, _VIB] = base[_VIB] * (0.8 + 0.25 * load)
        values[:, _TEMP] = base[_TEMP] + 4.0 * (load - 0.7) + np.sin(2 * np.pi * (t / _DAY - 0.4))
        values[:, _CUR] = base[_CUR] * (0.55 + 0.5 * load)
        values[:, _CYC] = base[_CYC] * (1.0 + 0.04 * (load - 0.7))
        severity = _severity(t, plan.wears, self.params)
        for mode, s in severity.items():
            eff = WEAR_MODES[mode]
            values[:, _VIB] *= 1.0 + eff[_VIB] * s
            values[:, _TEMP] += eff[_TEMP] * s
            values[:, _CUR] *= 1.0 + eff[_CUR] * s
            values[:, _CYC] *= 1.0 + eff[_CYC] * s
        wear = sum(severity.values(), np.zeros(t.size))
        noise_gain = 1.0 + self.params.wear_noise_gain * wear
        values += self._rng.standard_normal(values.shape) * sd * noise_gain[:, None]
        values += _drift_offsets(t, plan, sd)
        spikes = self._rng.random(values.shape) < self.params.spike_prob
        values[spikes] += 6.0 * sd[np.nonzero(spikes)[1]]
        values[:, _VIB] = np.maximum(values[:, _VIB], 0.01)
        return TelemetryFrame(m.equipment_id, m.kind, METRICS, t, values)


def _extend(plan: _Plan, until: float, p: DegradationParams, rng: np.random.Generator) -> None:
    """Advance the machine's life up to ``until``, drawing events as they come."""
    while plan.clock < until:
        while plan.next_drift < until:
            days = rng.uniform(*p.drift_days)
            rate = rng.uniform(*p.drift_per_day_sd) * rng.choice([-1.0, 1.0])
            plan.drifts.append(_Drift(plan.next_drift, int(rng.integers(4)), rate, days))
            plan.next_drift += _exp(rng, p.drift_rate)
        nxt = min(plan.next_maintenance, plan.next_onset, plan.next_sudden)
        if nxt >= until:
            plan.clock = until
            return
        if nxt == plan.next_onset:
            _wear_to_failure(plan, p, rng)
        elif nxt == plan.next_sudden:
            _fail(plan, plan.next_sudden, "sudden", p, rng)
        else:
            _maintain(plan, p, rng)


def _wear_to_failure(plan: _Plan, p: DegradationParams, rng: np.random.Generator) -> None:
    onset = plan.next_onset
    failure_at = onset + rng.uniform(*p.wear_days) * _DAY
    plan.wears.append(_Wear(onset, failure_at, str(rng.choice(list(WEAR_MODES)))))
    _fail(plan, failure_at, "gradual", p, rng)


def _fail(
    plan: _Plan, at: float, cause: str, p: DegradationParams, rng: np.random.Generator
) -> None:
    back = at + rng.uniform(*p.repair_h) * _HOUR
    plan.events.append(_event(plan, "failure", at, cause))
    plan.events.append(_event(plan, "repair", back, cause))
    plan.downtimes.append((at, back))
    plan.resets.append(back)
    plan.clock = back
    plan.next_onset = back + _exp(rng, p.gradual_rate)
    plan.next_sudden = back + _exp(rng, p.sudden_rate)
    plan.next_maintenance = max(plan.next_maintenance, back + p.maintenance_days[0] * _DAY)


def _maintain(plan: _Plan, p: DegradationParams, rng: np.random.Generator) -> None:
    at = plan.next_maintenance
    back = at + p.maintenance_h * _HOUR
    plan.events.append(_event(plan, "maintenance", at, None))
    plan.downtimes.append((at, back))
    plan.resets.append(back)
    plan.clock = back
    plan.next_maintenance = back + rng.uniform(*p.maintenance_days) * _DAY
    plan.next_onset = max(plan.next_onset, back)
    plan.next_sudden = max(plan.next_sudden, back)


def _event(plan: _Plan, kind: str, at: float, cause: str | None) -> dict[str, Any]:
    return {"equipment_id": plan.equipment_id, "type": kind, "at": _dt(at), "cause": cause}


def _severity(t: np.ndarray, wears: list[_Wear], p: DegradationParams) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for w in wears:
        inside = (t >= w.onset) & (t < w.failure_at)
        if not inside.any():
            continue
        frac = np.where(inside, (t - w.onset) / (w.failure_at - w.onset), 0.0)
        out[w.mode] = out.get(w.mode, np.zeros(t.size)) + frac**p.wear_exponent
    return out


def _drift_offsets(t: np.ndarray, plan: _Plan, sd: np.ndarray) -> np.ndarray:
    offsets = np.zeros((t.size, 4))
    resets = np.array(sorted(plan.resets))
    for d in plan.drifts:
        later = resets[resets > d.start]
        stop = later[0] if later.size else np.inf
        active = (t >= d.start) & (t < stop)
        elapsed_days = np.clip((t - d.start) / _DAY, 0.0, d.days)
        offsets[:, d.metric] += np.where(active, elapsed_days * d.rate_per_day * sd[d.metric], 0.0)
    return offsets


def _load(t: np.ndarray) -> np.ndarray:
    """Shift load in [0.35, 1]: two shifts 06:00-22:00, quiet nights, half load on Sundays."""
    hour = (t % _DAY) / _HOUR
    on = 1.0 / (1.0 + np.exp(-2.0 * (hour - 6.0))) / (1.0 + np.exp(-2.0 * (22.0 - hour)))
    sunday = ((t // _DAY + 3) % 7) == 6
    return 0.35 + 0.65 * on * np.where(sunday, 0.5, 1.0)


def _exp(rng: np.random.Generator, rate_per_30d: float) -> float:
    if rate_per_30d <= 0:
        return float("inf")
    return float(rng.exponential(30.0 * _DAY / rate_per_30d))


def _drift_record(m: Machine, d: _Drift) -> dict[str, Any]:
    return {
        "equipment_id": m.equipment_id,
        "metric": METRICS[d.metric],
        "start": _dt(d.start),
        "rate_per_day": d.rate_per_day,
        "days": d.days,
    }


def _epoch(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("telemetry times must be timezone-aware (UTC)")
    return at.timestamp()


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), tz=UTC)
