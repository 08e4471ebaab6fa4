"""Streaming detector for one metric of one machine: robust z-scores on a seasonal EWMA baseline.

The baseline is an hour-of-week profile (168 EWMA bins, linearly interpolated), falling back to an
hour-of-day profile (24 bins) until the week's bins have data: so neither the shift pattern nor a
quiet Sunday is an anomaly. The
scale is an EWMA of absolute residuals (x 1.2533, the normal-consistent factor for the mean absolute
deviation). Residuals are clipped at ``clip`` sigmas before they update the baseline (a Huber-style
update), so a spike or a failure does not drag the baseline with it; a slow, lasting change is
absorbed over days.

Three rules fire: ``robust-z`` (one reading beyond ``z_limit`` sigmas), ``cusum`` (a two-sided
CUSUM of the z-scores with slack ``cusum_k`` passes ``cusum_h``: a sustained shift) and
``variance`` (an EWMA of squared z-scores, each capped at 4 sigmas, passes ``var_limit``: the
readings got noisier, as worn bearings do). Written here
because no maintained library offers a serialisable streaming seasonal detector; the state is a
small frozen dataclass that an actor can snapshot.

Cost: the recursion is sequential (each residual is clipped against the scale the previous one
left), so a batch is not one numpy expression. ``update_metric_batch`` runs a batch of one
metric's readings in one pass over plain floats: the profiles are copied once per batch (not per
reading), and the mean of the daily profile (the fallback for empty bins) is a running sum, so
each reading costs O(1) (a few microseconds) whatever the batch or history size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_HOUR = 3600.0
_DAY = 86400.0
_WEEK_OFFSET = 3 * _DAY  # the Unix epoch was a Thursday: hour-of-week bin 0 is Monday 00:00
MAD_TO_SIGMA = 1.2533


@dataclass(frozen=True)
class DetectorParams:
    alpha: float = 0.05  # baseline bin update weight once a bin has seen enough readings
    beta: float = 0.01  # scale update weight once warm
    clip: float = 3.0
    z_limit: float = 6.0
    cusum_k: float = 0.75
    cusum_h: float = 10.0
    var_weight: float = 0.1
    var_limit: float = 4.0
    warmup: int = 288
    weekly_after: float = 4.0


@dataclass(frozen=True)
class Profile:
    """A cyclic baseline of ``bins`` hourly bins (24: the day, 168: the week) with sample counts."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def empty(cls, bins: int) -> Profile:
        return cls(np.full(bins, np.nan), np.zeros(bins))


def _bins(at: float, n: int) -> tuple[int, int, float]:
    """The two bins around ``at`` (bin centres at hh:30) and the weight of the second."""
    u = ((at + _WEEK_OFFSET) % (n * _HOUR)) / _HOUR - 0.5
    lo = math.floor(u)
    return lo % n, (lo + 1) % n, u - lo


@dataclass(frozen=True)
class MetricState:
    daily: Profile = field(default_factory=lambda: Profile.empty(24))
    weekly: Profile = field(default_factory=lambda: Profile.empty(168))
    scale: float = float("nan")
    n: int = 0
    cusum_hi: float = 0.0
    cusum_lo: float = 0.0
    var_ewma: float = 1.0
    last_at: float = float("-inf")


@dataclass(frozen=True)
class MetricScore:
    z: float
    cusum: float
    rules: tuple[str, ...]  # those that fired: "robust-z", "cusum", "variance"
    score: float  # the largest statistic over its limit (>= 1 when a rule fires)
    warm: bool

    @property
    def rule(self) -> str | None:
        return "+".join(self.rules) or None


_COLD: tuple[str, ...] = ()


def update_metric(
    state: MetricState, value: float, at: float, p: DetectorParams | None = None
) -> tuple[MetricState, MetricScore]:
    """Score one reading against the baseline, then fold it into the baseline.

    The baseline is the hour-of-week profile where both its bins have seen ``weekly_after``
    readings, else the hour-of-day profile.
    """
    new, (score,) = update_metric_batch(state, (at,), (value,), p)
    return new, score


def update_metric_batch(
    state: MetricState,
    times: Sequence[float],
    values: Sequence[float],
    p: DetectorParams | None = None,
) -> tuple[MetricState, list[MetricScore]]:
    """``update_metric`` over a batch of one metric's readings, in order: the same scores."""
    p = p or DetectorParams()
    run = _Run(state, p)
    scores = [run.step(float(at), float(x)) for at, x in zip(times, values, strict=True)]
    return run.state(times[-1] if len(times) else state.last_at), scores


class _Run:
    """The detector's state as plain floats and lists while a batch runs through it."""

    def __init__(self, s: MetricState, p: DetectorParams) -> None:
        self.p = p
        self.dv: list[float] = s.daily.values.tolist()
        self.dc: list[float] = s.daily.counts.tolist()
        self.wv: list[float] = s.weekly.values.tolist()
        self.wc: list[float] = s.weekly.counts.tolist()
        known = [v for v in self.dv if not math.isnan(v)]
        self.seen_sum, self.seen_n = math.fsum(known), len(known)
        self.scale, self.n = s.scale, s.n
        self.hi, self.lo, self.var = s.cusum_hi, s.cusum_lo, s.var_ewma

    def state(self, last_at: float) -> MetricState:
        daily = Profile(np.array(self.dv), np.array(self.dc))
        weekly = Profile(np.array(self.wv), np.array(self.wc))
        return MetricState(
            daily, weekly, self.scale, self.n, self.hi, self.lo, self.var, float(last_at)
        )

    def step(self, at: float, value: float) -> MetricScore:
        p = self.p
        warm = self.n >= p.warmup
        fallback = self.seen_sum / self.seen_n if self.seen_n else value
        d0, d1, dw = _bins(at, 24)
        day_base = _expected(self.dv, d0, d1, dw, fallback)
        w0, w1, ww = _bins(at, 168)
        week_base = _expected(self.wv, w0, w1, ww, day_base)
        week_n = min(self.wc[w0], self.wc[w1])
        base = week_base if week_n >= p.weekly_after else day_base
        scale = self.scale if math.isfinite(self.scale) else 0.0
        sigma = max(MAD_TO_SIGMA * scale, 1e-9)
        limit = p.clip * sigma if warm else math.inf
        self._learn_daily(d0, d1, dw, _clip(value - day_base, limit), fallback)
        _learn(self.wv, self.wc, w0, w1, ww, _clip(value - week_base, limit), day_base, p.alpha)
        resid = value - base
        z = resid / sigma
        # while warming up the scale is the plain mean absolute residual (nothing to clip yet)
        step = p.beta if warm else 1.0 / (self.n + 1)
        target = abs(_clip(resid, p.clip * sigma)) if warm else abs(resid)
        self.scale = scale + step * (target - scale)
        self.n += 1
        if not warm:
            return MetricScore(z, 0.0, _COLD, 0.0, False)
        zc = _clip(z, p.clip * 2)
        self.hi = max(0.0, self.hi + zc - p.cusum_k)
        self.lo = max(0.0, self.lo - zc - p.cusum_k)
        z4 = min(abs(zc), 4.0)  # a lone spike must not read as a noisy machine
        self.var = self.var + p.var_weight * (z4 * z4 - self.var)
        return self._rules(z)

    def _learn_daily(self, i0: int, i1: int, w: float, resid: float, fallback: float) -> None:
        """``_learn`` on the daily profile, keeping the running sum of its known bins."""
        for i, share in ((i0, 1.0 - w), (i1, w)):
            if math.isnan(self.dv[i]):
                self.dv[i] = fallback
                self.seen_sum += fallback
                self.seen_n += 1
            self.dc[i] += share
            delta = max(self.p.alpha, 1.0 / (self.dc[i] + 1.0)) * share * resid
            self.dv[i] += delta
            self.seen_sum += delta

    def _rules(self, z: float) -> MetricScore:
        p = self.p
        cusum = max(self.hi, self.lo)
        score = max(abs(z) / p.z_limit, cusum / p.cusum_h, self.var / p.var_limit)
        rules: list[str] = []
        if abs(z) >= p.z_limit:
            rules.append("robust-z")
        if cusum >= p.cusum_h:
            rules.append("cusum")
            self.hi = self.lo = 0.0
        if self.var >= p.var_limit:
            rules.append("variance")
            self.var = 1.0
        return MetricScore(z, cusum, tuple(rules), score, True)


def _clip(x: float, limit: float) -> float:
    return -limit if x < -limit else (limit if x > limit else x)


def _expected(values: list[float], i0: int, i1: int, w: float, fallback: float) -> float:
    v0, v1 = values[i0], values[i1]
    v0 = fallback if math.isnan(v0) else v0
    v1 = fallback if math.isnan(v1) else v1
    return (1 - w) * v0 + w * v1


def _learn(
    values: list[float],
    counts: list[float],
    i0: int,
    i1: int,
    w: float,
    resid: float,
    fallback: float,
    alpha: float,
) -> None:
    for i, share in ((i0, 1.0 - w), (i1, w)):
        if math.isnan(values[i]):
            values[i] = fallback
        counts[i] += share
        values[i] += max(alpha, 1.0 / (counts[i] + 1.0)) * share * resid
