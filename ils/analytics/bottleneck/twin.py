"""The digital twin: a lean discrete-event model of the lab line (simpy), for what-ifs.

Initialised from a live state (per station staff, machines, queue, jobs in process, measured
service-time mean and CV; the arrival rate; the routes and their shares), it runs a line of
multi-server stations with unlimited buffers. Common random numbers: every job draws, at arrival,
one unit-mean service variate for *every* station from that station's own seeded stream, plus its
route draw from a route stream and its inter-arrival from an arrival stream, so two configurations
run with the same seed see exactly the same jobs and the same work. Stations with machines may
also report their machines' cycle time (``MachineTelemetry``: a baseline in seconds x the
station's current service factor, with reading noise and occasional spikes) at every sample,
drawn from a telemetry stream of its own, so adding telemetry leaves every other stream unchanged.

simpy provides the clock and event queue; stations are hand-rolled (not ``simpy.Resource``)
because a what-if changes staffed capacity mid-run, which a Resource cannot do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import simpy
from scipy import stats

from ils.analytics.bottleneck.trace import StationTrace


@dataclass(frozen=True)
class MachineTelemetry:
    """What each machine of a station reports as ``cycle_time_s``: ``cycle_s`` x the station's
    service factor, plus Gaussian noise of ``noise_sd`` seconds, plus with probability
    ``spike_prob`` a single-reading spike of ``spike_sd`` noise deviations (as equipment
    telemetry does)."""

    cycle_s: float
    noise_sd: float
    spike_prob: float = 0.0
    spike_sd: float = 6.0


@dataclass(frozen=True)
class TwinStation:
    """Resources and measured service of one station. ``machines`` = 0: capacity is the staff;
    ``batch``: jobs one staffed machine holds at once (coating chambers); ``telemetry``: the
    machines' cycle-time readings (None: the station reports none)."""

    staff: int
    service_mean: float
    service_cv: float
    machines: int = 0
    batch: int = 1
    queue: int = 0
    in_process: int = 0
    telemetry: MachineTelemetry | None = None

    @property
    def servers(self) -> int:
        people = self.staff if self.machines <= 0 else min(self.staff, self.machines)
        return max(people, 0) * self.batch


@dataclass(frozen=True)
class Route:
    stations: tuple[str, ...]
    share: float


@dataclass(frozen=True)
class LineState:
    """A live state of the line; ``stations`` in line order, rates in jobs per minute."""

    stations: Mapping[str, TwinStation]
    arrival_rate: float
    routes: tuple[Route, ...]
    arrival_cv: float = 1.0

    def staff(self) -> dict[str, int]:
        return {name: st.staff for name, st in self.stations.items()}

    def with_staff(self, staff: Mapping[str, int]) -> LineState:
        stations = {n: replace(st, staff=staff.get(n, st.staff)) for n, st in self.stations.items()}
        return replace(self, stations=stations)

    def with_extra_machines(self, extra: Mapping[str, int]) -> LineState:
        """The line with ``extra`` more machines run at some stations (machine hours)."""
        stations = {
            n: replace(st, machines=st.machines + extra.get(n, 0))
            for n, st in self.stations.items()
        }
        return replace(self, stations=stations)

    def visit_shares(self) -> dict[str, float]:
        total = sum(r.share for r in self.routes)
        return {
            name: sum(r.share for r in self.routes if name in r.stations) / total
            for name in self.stations
        }


@dataclass(frozen=True)
class Change:
    """A planted event at minute ``at``: new staff, a service-time factor (a slow machine), or
    a new product mix (routes)."""

    at: float
    staff: Mapping[str, int] = field(default_factory=dict)
    service_factor: Mapping[str, float] = field(default_factory=dict)
    routes: tuple[Route, ...] | None = None


@dataclass(frozen=True)
class RunSpec:
    horizon: float
    warmup: float = 0.0
    sample_every: float = 1.0
    changes: tuple[Change, ...] = ()
    count_until: float | None = None  # count jobs arriving up to here (default: the horizon)


@dataclass(frozen=True)
class RunResult:
    """Cycle time of jobs arriving after warm-up (unfinished ones counted up to the horizon),
    time-average utilisation after warm-up, measured service times, the trace, the end WIP."""

    cycle_time: float
    jobs: int
    utilization: dict[str, float]
    service_mean: dict[str, float]
    service_cv: dict[str, float]
    trace: StationTrace
    end_queue: dict[str, int]
    end_in_process: dict[str, int]


class _Streams:
    """Seeded per-purpose streams, drawn in chunks; station streams keyed by station name."""

    CHUNK = 512

    def __init__(self, seed: int, state: LineState) -> None:
        names = sorted(state.stations)
        # Spawned children do not depend on how many are spawned: the telemetry stream, last,
        # leaves the arrival, route and station streams of a seed as they were without it.
        seqs = np.random.SeedSequence(seed).spawn(3 + len(names))
        self.arrival = np.random.default_rng(seqs[0])
        self.route = np.random.default_rng(seqs[1])
        self.station = {n: np.random.default_rng(s) for n, s in zip(names, seqs[2:-1], strict=True)}
        self.telemetry = np.random.default_rng(seqs[-1])
        self.shape = {n: _gamma_shape(st.service_cv) for n, st in state.stations.items()}
        self.arrival_shape = _gamma_shape(state.arrival_cv)
        self.buffers: dict[str, np.ndarray] = {}
        self.pos = self.CHUNK

    def _refill(self) -> None:
        self.buffers = {"__arrival": _unit(self.arrival, self.arrival_shape, self.CHUNK)}
        self.buffers["__route"] = self.route.random(self.CHUNK)
        for name, rng in self.station.items():
            self.buffers[name] = _unit(rng, self.shape[name], self.CHUNK)
        self.pos = 0

    def next_job(self) -> tuple[float, float, dict[str, float]]:
        if self.pos >= self.CHUNK:
            self._refill()
        i = self.pos
        self.pos += 1
        units = {n: float(self.buffers[n][i]) for n in self.station}
        return float(self.buffers["__arrival"][i]), float(self.buffers["__route"][i]), units


def _gamma_shape(cv: float) -> float:
    return 0.0 if cv <= 1e-9 else 1.0 / (cv * cv)


def _unit(rng: np.random.Generator, shape: float, n: int) -> np.ndarray:
    """Unit-mean variates with CV 1/sqrt(shape) (gamma); deterministic 1 when shape is 0."""
    if shape == 0.0:
        return np.ones(n)
    return rng.gamma(shape, 1.0 / shape, n)


@dataclass
class _Job:
    arrived: float
    route: tuple[str, ...]
    units: dict[str, float]
    pos: int = 0
    counted: bool = True
    done: float = -1.0


class _Station:
    def __init__(self, line: _Line, name: str, spec: TwinStation) -> None:
        self.line, self.name = line, name
        self.capacity = spec.servers
        self.mean, self.factor = spec.service_mean, 1.0
        self.waiting: deque[_Job] = deque()
        self.busy = 0
        self.arrived = 0
        self.routed = 0  # jobs that entered the line with a route through this station
        self.recent: deque[float] = deque([spec.service_mean], maxlen=10)
        self.stats = [0, 0.0, 0.0]  # services, sum, sum of squares
        self.telemetry, self.machines = spec.telemetry, max(spec.machines, 1)

    def machine_cycle(self, rng: np.random.Generator) -> float:
        """Mean ``cycle_time_s`` of one reading from each machine now (0: no telemetry)."""
        tel = self.telemetry
        if tel is None:
            return 0.0
        noise = rng.standard_normal(self.machines)
        spikes = rng.random(self.machines) < tel.spike_prob
        readings = tel.cycle_s + tel.noise_sd * (noise + tel.spike_sd * spikes)
        return float(readings.mean() * self.factor)

    def enter(self, job: _Job) -> None:
        self.arrived += 1
        self.waiting.append(job)
        self.pull()

    def pull(self) -> None:
        while self.waiting and self.busy < self.capacity:
            job = self.waiting.popleft()
            self.busy += 1
            duration = job.units[self.name] * self.mean * self.factor
            event = self.line.env.timeout(duration)
            event.callbacks.append(partial(self._done, job, duration))

    def _done(self, job: _Job, duration: float, _event: simpy.Event) -> None:
        self.finish(job, duration)

    def finish(self, job: _Job, duration: float) -> None:
        self.busy -= 1
        self.stats[0] += 1
        self.stats[1] += duration
        self.stats[2] += duration * duration
        self.recent.append(duration)
        self.pull()
        self.line.advance(job)


class _Line:
    def __init__(self, state: LineState, spec: RunSpec, seed: int) -> None:
        self.env = simpy.Environment()
        self.state, self.spec = state, spec
        self.streams = _Streams(seed, state)
        self.stations = {n: _Station(self, n, st) for n, st in state.stations.items()}
        self.rate = state.arrival_rate
        self.set_routes(state.routes)
        self.jobs: list[_Job] = []
        self.samples: list[
            tuple[
                float,
                list[int],
                list[int],
                list[int],
                list[int],
                list[float],
                list[int],
                list[float],
            ]
        ] = []

    def set_routes(self, routes: tuple[Route, ...]) -> None:
        shares = np.array([r.share for r in routes], dtype=float)
        self.routes = routes
        self.cumulative = np.cumsum(shares / shares.sum())

    def pick_route(self, u: float, through: str | None = None) -> tuple[str, ...]:
        if through is None:
            idx = int(np.searchsorted(self.cumulative, u, side="right"))
            return self.routes[min(idx, len(self.routes) - 1)].stations
        options = [r for r in self.routes if through in r.stations] or [self.routes[0]]
        weights = np.cumsum([r.share for r in options])
        idx = int(np.searchsorted(weights / weights[-1], u, side="right"))
        return options[min(idx, len(options) - 1)].stations

    def advance(self, job: _Job) -> None:
        job.pos += 1
        if job.pos < len(job.route):
            self.stations[job.route[job.pos]].enter(job)
        else:
            job.done = self.env.now

    def seed_wip(self) -> None:
        for name, st in self.state.stations.items():
            for i in range(st.in_process + st.queue):
                _gap, u, units = self.streams.next_job()
                route = self.pick_route(u, through=name)
                pos = route.index(name) if name in route else 0
                if i < st.in_process:  # part-done: residual times spread over the service
                    units[route[pos]] *= (i + 0.5) / st.in_process
                job = _Job(0.0, route, units, pos=pos, counted=False)
                self.jobs.append(job)
                self.stations[route[pos]].enter(job)

    def arrivals(self) -> Any:
        while True:
            gap, u, units = self.streams.next_job()
            yield self.env.timeout(gap / self.rate)
            job = _Job(self.env.now, self.pick_route(u), units)
            self.jobs.append(job)
            for name in job.route:
                self.stations[name].routed += 1
            self.stations[job.route[0]].enter(job)

    def apply(self, change: Change) -> Any:
        yield self.env.timeout(change.at)
        for name, staff in change.staff.items():
            st = self.stations[name]
            st.capacity = replace(self.state.stations[name], staff=staff).servers
            st.pull()
        for name, factor in change.service_factor.items():
            self.stations[name].factor = factor
        if change.routes is not None:
            self.set_routes(change.routes)

    def sampler(self) -> Any:
        while True:
            sts = list(self.stations.values())
            self.samples.append(
                (
                    self.env.now,
                    [len(s.waiting) for s in sts],
                    [s.busy for s in sts],
                    [s.capacity for s in sts],
                    [s.arrived for s in sts],
                    [sum(s.recent) / len(s.recent) for s in sts],
                    [s.routed for s in sts],
                    [s.machine_cycle(self.streams.telemetry) for s in sts],
                )
            )
            yield self.env.timeout(self.spec.sample_every)


def simulate(state: LineState, spec: RunSpec, seed: int) -> RunResult:
    """One replication; the same seed gives the same jobs whatever the staffing."""
    line = _Line(state, spec, seed)
    line.seed_wip()
    line.env.process(line.arrivals())
    line.env.process(line.sampler())
    for change in spec.changes:
        line.env.process(line.apply(change))
    line.env.run(until=spec.horizon)
    return _result(line)


def _result(line: _Line) -> RunResult:
    spec, names = line.spec, tuple(line.stations)
    times = np.array([s[0] for s in line.samples])
    machine_cycle = np.array([s[7] for s in line.samples], dtype=float).reshape(len(times), -1)
    trace = StationTrace(
        times,
        names,
        np.array([s[1] for s in line.samples], dtype=np.int64),
        np.array([s[2] for s in line.samples], dtype=np.int64),
        np.array([s[3] for s in line.samples], dtype=np.int64),
        np.array([s[4] for s in line.samples], dtype=np.int64),
        np.array([s[5] for s in line.samples], dtype=float),
        np.array([s[6] for s in line.samples], dtype=np.int64),
        machine_cycle if bool((machine_cycle > 0).any()) else None,
    )
    late = trace.window(spec.warmup, spec.horizon)
    util = late.utilization().mean(axis=0) if len(late) else np.zeros(len(names))
    until = spec.horizon if spec.count_until is None else spec.count_until
    cycles = [
        (j.done if j.done >= 0 else spec.horizon) - j.arrived
        for j in line.jobs
        if j.counted and spec.warmup <= j.arrived <= until
    ]
    means, cvs = {}, {}
    for name, st in line.stations.items():
        n, s1, s2 = st.stats
        mean = s1 / n if n else line.state.stations[name].service_mean
        var = max(s2 / n - mean * mean, 0.0) if n > 1 else 0.0
        means[name] = mean
        cvs[name] = (
            float(np.sqrt(var) / mean)
            if n > 1 and mean > 0
            else line.state.stations[name].service_cv
        )
    return RunResult(
        cycle_time=float(np.mean(cycles)) if cycles else float("nan"),
        jobs=len(cycles),
        utilization={n: float(u) for n, u in zip(names, util, strict=True)},
        service_mean=means,
        service_cv=cvs,
        trace=trace,
        end_queue={n: len(s.waiting) for n, s in line.stations.items()},
        end_in_process={n: s.busy for n, s in line.stations.items()},
    )


def expected_events(state: LineState, spec: RunSpec) -> float:
    """Rough count of simulation events a run will process (used to bound what-ifs)."""
    shares = state.visit_shares()
    wip = sum(st.queue + st.in_process for st in state.stations.values())
    per_job = 1.0 + sum(shares.values())
    samples = spec.horizon / spec.sample_every if spec.sample_every > 0 else 0.0
    return state.arrival_rate * spec.horizon * per_job + wip * per_job + samples


@dataclass(frozen=True)
class PairedComparison:
    """Alternative vs base under common random numbers: per-replication cycle-time change (%)."""

    base_cycle_time: float
    alt_cycle_time: float
    change_pct: float
    ci_low: float
    ci_high: float
    replications: int
    alt_utilization: dict[str, float]
    alt_utilization_sd: dict[str, float]


def compare(
    base: LineState, alt: LineState, spec: RunSpec, seeds: Sequence[int], level: float = 0.95
) -> PairedComparison:
    """Run both configurations on the same seeds; a t-interval on the paired % change."""
    base_runs = [simulate(base, spec, s) for s in seeds]
    alt_runs = [simulate(alt, spec, s) for s in seeds]
    b = np.array([r.cycle_time for r in base_runs])
    a = np.array([r.cycle_time for r in alt_runs])
    change = 100.0 * (a - b) / b
    mean = float(change.mean())
    half = 0.0
    if len(change) > 1:
        sem = float(change.std(ddof=1) / np.sqrt(len(change)))
        half = float(stats.t.ppf(0.5 + level / 2.0, len(change) - 1)) * sem
    utils = np.array([[r.utilization[n] for n in alt.stations] for r in alt_runs])
    return PairedComparison(
        base_cycle_time=float(b.mean()),
        alt_cycle_time=float(a.mean()),
        change_pct=mean,
        ci_low=mean - half,
        ci_high=mean + half,
        replications=len(seeds),
        alt_utilization={
            n: float(u) for n, u in zip(alt.stations, utils.mean(axis=0), strict=True)
        },
        alt_utilization_sd={
            n: float(u) for n, u in zip(alt.stations, utils.std(axis=0), strict=True)
        },
    )
