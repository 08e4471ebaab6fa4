"""Bottleneck detection over station traces.

Primary method: Roser's active-period method (Roser, Nakano & Tanaka, "Shifting bottleneck
detection", Winter Simulation Conference 2002). A station is *active* when it is saturated (every
server busy, or jobs waiting: see ``StationTrace.saturated``); at each moment the station with
the longest active period is the momentary bottleneck, and where the active periods of the old
and the new bottleneck overlap the bottleneck is *shifting*. Over a window each station gets a
sole and a shifting share; the largest total share is the constraint.

When the snapshots carry arrival counts and rolling service times, the decision is made by the
backlog load instead (a utilisation + queue-growth measure): the work that reached each station in
the window - the jobs already waiting when it began plus the arrivals - in minutes of service,
over the staffed minutes of the window. Arrival counts are shrunk toward the station's rate over
the longer look-back (a gamma-Poisson prior worth ``prior_jobs`` jobs). Saturation only shows
once a queue has built up; the backlog load sees a capacity cut or a slower machine at once, which
is what lets a new constraint be named within minutes (bench/bottleneck.py measures both).

Confidence: for the active-period decision, a moving-block bootstrap of the momentary labels; for
the backlog load, a Poisson resample of the arrival counts; in both, the share of resamples that
name the same station. Both methods' figures go into the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


@dataclass(frozen=True)
class _Backlog:
    """The counts behind the backlog load of one scoring window."""

    arrivals: np.ndarray
    waiting: np.ndarray
    long_rate: np.ndarray
    mean: np.ndarray
    capacity: np.ndarray
    span: float

    def load(self, arrivals: np.ndarray, prior_jobs: float) -> np.ndarray:
        rate = (arrivals + prior_jobs) / (self.span + prior_jobs / np.maximum(self.long_rate, 1e-9))
        work = (rate * self.span + self.waiting) * self.mean
        cap = self.capacity
        return np.where(
            cap > 0, work / (np.maximum(cap, 1) * self.span), np.where(work > 0, np.inf, 0.0)
        )


def _backlog(trace: StationTrace, score_from: float) -> _Backlog | None:
    if trace.arrived is None or trace.service_mean is None or len(trace) < 2:
        return None
    w = trace.window(score_from, float(trace.times[-1]))
    if len(w) < 2 or w.arrived is None or w.service_mean is None:
        return None
    long_span = float(trace.times[-1] - trace.times[0])
    return _Backlog(
        arrivals=(w.arrived[-1] - w.arrived[0]).astype(float),
        waiting=w.queue[0].astype(float),
        long_rate=(trace.arrived[-1] - trace.arrived[0]) / long_span,
        mean=w.service_mean[-1],
        capacity=w.capacity[-1],
        span=float(w.times[-1] - w.times[0]),
    )


def backlog_load(
    trace: StationTrace, score_from: float, prior_jobs: float = 10.0
) -> np.ndarray | None:
    """Per station: (jobs waiting at ``score_from`` + arrivals since, shrunk toward the rate over
    the whole trace) x rolling service mean / (servers x window). None without the counts."""
    counts = _backlog(trace, score_from)
    return None if counts is None else counts.load(counts.arrivals, prior_jobs)


def _poisson_confidence(
    counts: _Backlog, top: int, rng: np.random.Generator, draws: int, prior_jobs: float
) -> float:
    """Share of Poisson resamples of the window's arrival counts that keep the same top station."""
    resampled = rng.poisson(counts.arrivals, size=(draws, len(counts.arrivals)))
    loads = counts.load(resampled.astype(float), prior_jobs)
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
    prior_jobs: float = 10.0,
) -> Detection:
    """The constraint over the trace from ``score_from`` (default: the whole trace), with
    confidence and evidence. Samples before ``score_from`` serve as look-back: active periods
    that began earlier count at their full length, and arrival rates are shrunk toward them."""
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
        load = counts.load(counts.arrivals, prior_jobs)
        top = int(load.argmax())
        confidence = _poisson_confidence(counts, top, rng, draws, prior_jobs)
        evidence |= {"method": "backlog_load", "backlog_load": _shares(load, trace.stations)}
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
    lookback: float = 60.0,
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
