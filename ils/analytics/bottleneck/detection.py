"""Bottleneck detection over station traces.

Primary method: Roser's active-period method (Roser, Nakano & Tanaka, "Shifting bottleneck
detection", Winter Simulation Conference 2002). A station is *active* when it is saturated (every
server busy, or jobs waiting: see ``StationTrace.saturated``); at each moment the station with
the longest active period is the momentary bottleneck, and where the active periods of the old
and the new bottleneck overlap the bottleneck is *shifting*. Over a window each station gets a
sole and a shifting share; the largest total share is the constraint.

When the snapshots carry arrival counts and rolling service times, the decision is made by the
offered load instead (a utilisation + queue-growth measure): each station's arrival rate x mean
service time over its staffed servers, plus the growth of its queue over the window spread over
the window (a backlog left from before the window, say a former constraint draining, is not load
arriving now). Stations that did not change keep precise long-run figures; a station that changed
is measured since the change, separately for its two rates. Arrivals: the rate comes from the
latest stretch of the look-back whose count differs from the rest by a Poisson likelihood-ratio
test (``change_point``: a single change point, the most significant of ``CHANGE_WINDOWS``, 2 log
LR above ``CHANGE_LR``). When the snapshots count the jobs routed through each station as they
enter the line, the work heading for the station replaces its own arrivals (a new mix shows
minutes before it reaches the station): the line's entry rate times the share of entering jobs
routed through the station, the share measured since its own change point (a binomial test,
``ROUTED_LR``) as a posterior mean, the entry rate since its own (``demand.routed_rate``: a few
minutes of a new mix give a share within about 8%, but a count within about 27%); the
evidence's ``rate_signal`` says which. Service:
the same test on departures per busy server-minute (``SERVICE_LR``), and the mean service time is
busy server-minutes per departure since that change point (the rolling mean of the snapshots when
fewer than 5 jobs left), so a machine that slows is not diluted over the whole look-back. When
the snapshots carry the stations' machine cycle times (equipment telemetry), a station whose
cycle time changed (``cycle_time``: a robust test against the readings' own noise) has the service
mean measured before the change scaled by the ratio of its cycle times after and before, from
the change on (``service_signal``: ``machine_cycle_time``; the before/after readings are in the
evidence): a slower machine shows within minutes instead of once enough of its jobs have left. A
capacity cut shows at once, a new product mix (the arrival rate jumps) or a slower machine
without telemetry once enough jobs have arrived or left to pass the test, while noise in one
short window does not.
How soon that is on the bench's lab is measured by bench/bottleneck.py (within 15 minutes the
counts are often too few: see its docstring); bench/bottleneck_reference.py scores the same
loads with the change times known.

Confidence: for the active-period decision, a moving-block bootstrap of the momentary labels; for
the offered load, a Poisson resample of the arrival and departure counts behind each station's
rates; in both,
the share of resamples that name the same station. Both methods' figures go into the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ils.analytics.bottleneck.change_point import CHANGE_WINDOWS, changed_rate_since
from ils.analytics.bottleneck.cycle_time import CycleChange, cycle_changed_since
from ils.analytics.bottleneck.demand import routed_rate, share_changed_since
from ils.analytics.bottleneck.trace import StationTrace


@dataclass(frozen=True)
class ActivePeriods:
    """Momentary bottleneck per sample (-1: none), shifting flags, sole and shifting shares."""

    momentary: np.ndarray
    shifting: np.ndarray
    sole_share: np.ndarray
    shifting_share: np.ndarray

    @property
    def total_share(self) -> np.ndarray:
        return self.sole_share + self.shifting_share


@dataclass(frozen=True)
class Detection:
    station: str | None
    at: float
    confidence: float
    shifting_with: tuple[str, ...] = ()
    since: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def _runs(active: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample and station: length of the active period it lies in, and that period's first
    and last sample index (-1 where inactive)."""
    n, m = active.shape
    step = float(np.median(np.diff(times))) if n > 1 else 1.0
    length = np.zeros((n, m))
    first = np.full((n, m), -1)
    last = np.full((n, m), -1)
    for j in range(m):
        edges = np.diff(np.concatenate(([0], active[:, j].astype(np.int8), [0])))
        for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            length[s:e, j] = times[e - 1] - times[s] + step
            first[s:e, j], last[s:e, j] = s, e - 1
    return length, first, last


def queue_scores(trace: StationTrace) -> np.ndarray:
    """Utilisation + queue-growth score per station (higher: more constraining)."""
    util = trace.utilization().mean(axis=0)
    servers = np.maximum(trace.capacity, 1)
    per_server = trace.queue / servers
    level = per_server.mean(axis=0)
    trend = np.zeros(len(trace.stations))
    if len(trace) > 2:
        t = trace.times - trace.times.mean()
        trend = (t[:, None] * (per_server - level)).sum(axis=0) / float((t * t).sum())
        trend = trend * float(trace.times[-1] - trace.times[0])
    starved = (trace.queue.sum(axis=0) > 0) & (trace.capacity.max(axis=0) == 0)
    score = util + level / (1.0 + level) + 0.5 * np.clip(trend, -1.0, 1.0)
    return np.where(starved, score + 10.0, score)


def active_periods(trace: StationTrace, score_from: float | None = None) -> ActivePeriods:
    """Roser's momentary and shifting bottlenecks over the trace (ties broken by queue score);
    the returned arrays cover the samples from ``score_from`` on."""
    n, m = trace.queue.shape
    length, first, last = _runs(trace.saturated(), trace.times)
    tie = queue_scores(trace)
    keyed = length + 1e-6 * (tie - tie.min() + 1.0) * (length > 0)
    momentary = np.where(length.max(axis=1) > 0, keyed.argmax(axis=1), -1)
    shifting = np.zeros((n, m), dtype=bool)
    for i in range(1, n):
        a, b = momentary[i - 1], momentary[i]
        if a < 0 or b < 0 or a == b:
            continue
        lo = max(first[i - 1, a], first[i, b])
        hi = min(last[i - 1, a], last[i, b])
        if lo <= hi:
            shifting[lo : hi + 1, a] = shifting[lo : hi + 1, b] = True
    keep = trace.times >= (trace.times[0] if score_from is None else score_from)
    momentary, shifting = momentary[keep], shifting[keep]
    n = len(momentary)
    any_shift = shifting.any(axis=1)
    sole = (
        np.array([np.mean((momentary == j) & ~any_shift) for j in range(m)]) if n else np.zeros(m)
    )
    shift = shifting.mean(axis=0) if n else np.zeros(m)
    return ActivePeriods(momentary, shifting, sole, shift)


#: The 2 log likelihood-ratio a change of the service rate (departures per busy server-minute)
#: must pass (``change_point``; arrivals: ``CHANGE_LR``). Lower, because service
#: times vary less than exponential ones (CV 0.2-0.7 in a lab), so departures are more regular
#: than Poisson and the Poisson ratio understates the evidence; chosen on seeds other than the
#: bench's (bench/bottleneck.py).
SERVICE_LR = 4.0
#: The same for the share of the line's entering jobs routed through a station (a binomial
#: test, ``demand.share_changed_since``); chosen on seeds other than the bench's.
ROUTED_LR = 8.0


@dataclass(frozen=True)
class _Backlog:
    """The counts behind the offered load: per station the arrival rate, the arrivals it rests
    on and the minutes of the stretch it is measured over, the departures and busy
    server-minutes its mean service time is measured over (``served`` 0: the snapshots' rolling
    mean is used), the growth of the queue over the scored window (``waiting``) and the servers.
    ``rate_signal`` names what each station's rate was measured on."""

    rate: np.ndarray
    arrivals: np.ndarray
    minutes: np.ndarray
    mean: np.ndarray
    waiting: np.ndarray
    capacity: np.ndarray
    span: float
    service_over: np.ndarray
    served: np.ndarray
    busy_minutes: np.ndarray
    rate_signal: tuple[str, ...]
    service_signal: tuple[str, ...]
    cycle: CycleChange | None = None

    def load(self, arrivals: np.ndarray, served: np.ndarray | None = None) -> np.ndarray:
        mean = self.mean
        if served is not None:
            measured = self.served > 0
            mean = np.where(measured, self.busy_minutes / np.maximum(served, 1.0), self.mean)
        rate = self.rate * (arrivals + 0.5) / (self.arrivals + 0.5)
        work = rate * mean + self.waiting * mean / self.span
        cap = self.capacity
        return np.where(cap > 0, work / np.maximum(cap, 1), np.where(work > 0, np.inf, 0.0))


def _since(cum: np.ndarray, start: np.ndarray) -> np.ndarray:
    cols = np.arange(cum.shape[1])
    return (cum[-1] - cum[start, cols]).astype(float)


def _backlog(trace: StationTrace, score_from: float) -> _Backlog | None:
    if trace.arrived is None or trace.service_mean is None or len(trace) < 2:
        return None
    times, arrived = trace.times, trace.arrived
    span = float(times[-1] - score_from)
    if span <= 0.0 or float(times[-1] - times[0]) <= 0.0:
        return None
    start, rate_signal = _rate_since(trace)
    minutes = np.maximum(times[-1] - times[start], 1e-9)
    if trace.routed is None:
        counts = _since(arrived, start)
        rate = (counts + 0.5) / minutes
    else:
        rate, counts = routed_rate(trace.routed, trace.routed.max(axis=1), times, start)
    # Queue growth over the scored window: a backlog left from before it (a former constraint
    # draining) is not load arriving now.
    first = min(int(np.searchsorted(times, score_from)), len(trace) - 1)
    waiting = np.maximum(trace.queue[-1] - trace.queue[first], 0).astype(float)
    # Service: departures per busy server-minute, measured since its own change point (a slower
    # machine, a new mix of work), so a change is not diluted over the whole look-back.
    departed = (arrived - (trace.queue + trace.busy)).astype(float)
    zero = np.zeros((1, arrived.shape[1]))
    busy = np.vstack([zero, np.cumsum(trace.busy[:-1] * np.diff(times)[:, None], axis=0)])
    served_from = changed_rate_since(departed, times, busy, SERVICE_LR)
    served = _since(departed, served_from)
    busy_minutes = _since(busy, served_from)
    enough = served >= 5
    mean = np.where(enough, busy_minutes / np.maximum(served, 1), trace.service_mean[-1])
    signal = np.where(
        enough, np.where(served_from > 0, "departures_since_change", "departures"), "rolling_mean"
    )
    backlog = _Backlog(
        rate=rate,
        arrivals=counts,
        minutes=minutes,
        mean=mean,
        waiting=waiting,
        capacity=trace.capacity[-1],
        span=span,
        service_over=np.maximum(times[-1] - times[served_from], 0.0),
        served=np.where(enough, served, 0.0),
        busy_minutes=busy_minutes,
        rate_signal=rate_signal,
        service_signal=tuple(str(x) for x in signal),
    )
    if trace.machine_cycle is None:
        return backlog
    return _with_cycle_change(backlog, trace, departed, busy)


def _with_cycle_change(
    backlog: _Backlog, trace: StationTrace, departed: np.ndarray, busy: np.ndarray
) -> _Backlog:
    """Stations whose machine cycle time changed: the service mean measured before the change
    (busy server-minutes per departure over the look-back up to it, when the machines ran
    steadily: the departure rate's own change point may be the slowdown itself; the snapshots'
    rolling mean at the change when fewer than 5 jobs left) scaled by the ratio of the cycle
    times after and before, from the moment of the change. The service time is taken to scale
    with the machine's cycle (an upper bound where part of a task is handling)."""
    assert trace.machine_cycle is not None and trace.service_mean is not None
    change = cycle_changed_since(trace.machine_cycle, trace.times)
    if not change.changed.any():
        return replace(backlog, cycle=change)
    cols = np.arange(len(trace.stations))
    at = np.maximum(change.start, 1)
    served = (departed[at, cols] - departed[0]).astype(float)
    busy_minutes = (busy[at, cols] - busy[0]).astype(float)
    enough = served >= 5
    rolling = trace.service_mean[at - 1, cols]
    before = np.where(enough, busy_minutes / np.maximum(served, 1.0), rolling)
    on = change.changed
    signal = tuple(
        "machine_cycle_time" if c else s for c, s in zip(on, backlog.service_signal, strict=True)
    )
    return replace(
        backlog,
        mean=np.where(on, before * change.ratio, backlog.mean),
        served=np.where(on, np.where(enough, served, 0.0), backlog.served),
        busy_minutes=np.where(on, busy_minutes * change.ratio, backlog.busy_minutes),
        service_over=np.where(
            on, trace.times[-1] - trace.times[change.start], backlog.service_over
        ),
        service_signal=signal,
        cycle=change,
    )


def _rate_since(trace: StationTrace) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per station: the sample its arrival rate is measured from, and on what. With ``routed``
    counts the rate is the work heading for the station (jobs routed through it as they enter
    the line: ``demand.routed_rate``), its share of the entering jobs measured since that
    share's change point (a new product mix); the line's entry rate has a change point of its
    own (``routed_since_change`` when it moved and the share did not)."""
    times = trace.times
    if trace.routed is None:
        assert trace.arrived is not None
        start = changed_rate_since(trace.arrived, times)
        return start, tuple("arrivals_since_change" if a else "arrivals" for a in start)
    entered = trace.routed.max(axis=1)  # every route starts at order entry
    by_entry = bool(changed_rate_since(entered[:, None], times)[0])
    start = share_changed_since(trace.routed, entered, times, CHANGE_WINDOWS, ROUTED_LR)
    signal = tuple(
        "routed_share_since_change" if s else "routed_since_change" if by_entry else "routed"
        for s in start
    )
    return start, signal


def backlog_load(trace: StationTrace, score_from: float) -> np.ndarray | None:
    """Per station: offered load (arrival rate since its last change x mean service time, plus
    the jobs waiting now spread from ``score_from``) over the staffed servers. None without the
    counts."""
    counts = _backlog(trace, score_from)
    return None if counts is None else counts.load(counts.arrivals)


def _poisson_confidence(counts: _Backlog, top: int, rng: np.random.Generator, draws: int) -> float:
    """Share of Poisson resamples of the arrival and departure counts that keep the same top
    station."""
    m = len(counts.arrivals)
    arrivals = rng.poisson(counts.arrivals, size=(draws, m)).astype(float)
    served = rng.poisson(counts.served, size=(draws, m)).astype(float)
    loads = counts.load(arrivals, served)
    return float(np.mean(loads.argmax(axis=1) == top))


def _bootstrap(momentary: np.ndarray, m: int, rng: np.random.Generator, draws: int) -> np.ndarray:
    """Constraint index of each moving-block resample of the momentary labels."""
    n = len(momentary)
    block = max(2, n // 5)
    starts = rng.integers(0, max(n - block + 1, 1), size=(draws, -(-n // block)))
    winners = np.empty(draws, dtype=int)
    for d in range(draws):
        idx = np.concatenate([np.arange(s, min(s + block, n)) for s in starts[d]])[:n]
        labels = momentary[idx]
        counts = np.bincount(labels[labels >= 0], minlength=m)
        winners[d] = int(counts.argmax()) if counts.sum() else -1
    return winners


def _shares(values: np.ndarray, stations: tuple[str, ...]) -> dict[str, float]:
    return dict(zip(stations, np.round(values, 4).tolist(), strict=True))


def detect(
    trace: StationTrace,
    rng: np.random.Generator,
    draws: int = 200,
    score_from: float | None = None,
) -> Detection:
    """The constraint over the trace from ``score_from`` (default: the whole trace), with
    confidence and evidence. Samples before ``score_from`` serve as look-back: active periods
    that began earlier count at their full length, and arrival rates and service times of
    stations that did not change are measured over all of it."""
    at = float(trace.times[-1]) if len(trace) else 0.0
    if len(trace) < 2:
        return Detection(None, at, 0.0, evidence={"reason": "too few samples"})
    start = float(trace.times[0]) if score_from is None else score_from
    periods = active_periods(trace, start)
    counts = _backlog(trace, start)
    scored = trace.window(start, at)
    total = periods.total_share
    evidence: dict[str, Any] = {
        "window_min": at - start,
        "sole_share": _shares(periods.sole_share, trace.stations),
        "shifting_share": _shares(periods.shifting_share, trace.stations),
        "utilization": _shares(scored.utilization().mean(axis=0), trace.stations),
        "active_period_top": trace.stations[int(total.argmax())] if total.max() > 0 else None,
    }
    if counts is not None:
        load = counts.load(counts.arrivals)
        top = int(load.argmax())
        confidence = _poisson_confidence(counts, top, rng, draws)
        evidence |= {
            "method": "backlog_load",
            "backlog_load": _shares(load, trace.stations),
            "rate_over_min": _shares(counts.minutes, trace.stations),
            "service_mean_min": _shares(counts.mean, trace.stations),
            "service_over_min": _shares(counts.service_over, trace.stations),
            "rate_signal": dict(zip(trace.stations, counts.rate_signal, strict=True)),
            "service_signal": dict(zip(trace.stations, counts.service_signal, strict=True)),
        }
        if counts.cycle is not None:
            evidence["machine_cycle_s"] = counts.cycle.evidence(trace.stations, trace.times)
    elif total.max() > 0.0:
        top = int(total.argmax())
        confidence = float(np.mean(_bootstrap(periods.momentary, len(total), rng, draws) == top))
        evidence["method"] = "active_period"
    else:
        return Detection(None, at, 0.0, evidence=evidence | {"reason": "no station saturated"})
    evidence["methods_agree"] = evidence["active_period_top"] == trace.stations[top]
    partners = np.flatnonzero(periods.shifting[-1]).tolist() if periods.shifting[-1, top] else []
    shifting_with = tuple(trace.stations[j] for j in partners if j != top)
    return Detection(trace.stations[top], at, confidence, shifting_with, evidence=evidence)


def detect_over_time(
    trace: StationTrace,
    window: float,
    step: float,
    rng: np.random.Generator,
    start: float | None = None,
    draws: int = 50,
    lookback: float = 225.0,
) -> list[Detection]:
    """Sliding-window detection every ``step`` minutes, each with ``lookback`` minutes of
    history before its window (see ``detect``). ``since`` marks when the current
    constraint took over (a change of station is a shifting bottleneck over time)."""
    begin = float(trace.times[0]) + window if start is None else start
    back = lookback
    out: list[Detection] = []
    for now in np.arange(begin, float(trace.times[-1]) + 1e-9, step):
        t = float(now)
        found = detect(trace.window(t - window - back, t), rng, draws, score_from=t - window)
        since = float(now)
        if out and out[-1].station == found.station and out[-1].since is not None:
            since = out[-1].since
        out.append(
            Detection(
                found.station,
                float(now),
                found.confidence,
                found.shifting_with,
                since,
                found.evidence,
            )
        )
    return out


def first_hit(series: Sequence[Detection], station: str, after: float) -> float | None:
    """Minutes from ``after`` until the series first names ``station`` (None: never)."""
    for d in series:
        if d.at >= after and d.station == station:
            return d.at - after
    return None
