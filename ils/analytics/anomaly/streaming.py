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
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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

    def bins(self, at: float) -> tuple[int, int, float]:
        """The two bins around ``at`` (bin centres at hh:30) and the weight of the second."""
        n = self.values.size
        u = ((at + _WEEK_OFFSET) % (n * _HOUR)) / _HOUR - 0.5
        lo = int(np.floor(u))
        return lo % n, (lo + 1) % n, u - lo

    def expected(self, at: float, fallback: float) -> tuple[float, float]:
        """(baseline at ``at``, the smaller sample count of its two bins)."""
        i0, i1, w = self.bins(at)
        v0 = fallback if np.isnan(self.values[i0]) else self.values[i0]
        v1 = fallback if np.isnan(self.values[i1]) else self.values[i1]
        return (1 - w) * v0 + w * v1, float(min(self.counts[i0], self.counts[i1]))

    def learn(self, at: float, resid: float, fallback: float, alpha: float) -> Profile:
        i0, i1, w = self.bins(at)
        values, counts = self.values.copy(), self.counts.copy()
        for i, share in ((i0, 1 - w), (i1, w)):
            if np.isnan(values[i]):
                values[i] = fallback
            counts[i] += share
            values[i] += max(alpha, 1.0 / (counts[i] + 1.0)) * share * resid
        return Profile(values, counts)


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


def update_metric(
    state: MetricState, value: float, at: float, p: DetectorParams | None = None
) -> tuple[MetricState, MetricScore]:
    """Score one reading against the baseline, then fold it into the baseline.

    The baseline is the hour-of-week profile where both its bins have seen ``weekly_after``
    readings, else the hour-of-day profile.
    """
    p = p or DetectorParams()
    warm = state.n >= p.warmup
    daily, weekly, resid, sigma = _learn_baseline(state, value, at, p, warm)
    z = resid / sigma
    clipped = float(np.clip(resid, -p.clip * sigma, p.clip * sigma))
    # while warming up the scale is the plain mean absolute residual (nothing to clip against yet)
    scale = state.scale if np.isfinite(state.scale) else 0.0
    step = p.beta if warm else 1.0 / (state.n + 1)
    scale = scale + step * ((abs(clipped) if warm else abs(resid)) - scale)
    zc = float(np.clip(z, -p.clip * 2, p.clip * 2)) if warm else 0.0
    hi = max(0.0, state.cusum_hi + zc - p.cusum_k)
    lo = max(0.0, state.cusum_lo - zc - p.cusum_k)
    z4 = min(abs(zc), 4.0)  # a lone spike must not read as a noisy machine
    var = state.var_ewma + p.var_weight * (z4 * z4 - state.var_ewma) if warm else 1.0
    new = MetricState(daily, weekly, scale, state.n + 1, hi, lo, var, at)
    if not warm:
        return new, MetricScore(float(z), 0.0, (), 0.0, False)
    return _apply_rules(new, float(z), p)


def _learn_baseline(
    state: MetricState, value: float, at: float, p: DetectorParams, warm: bool
) -> tuple[Profile, Profile, float, float]:
    """(new daily profile, new weekly profile, residual from the old baseline, sigma)."""
    seen = state.daily.values[~np.isnan(state.daily.values)]
    fallback = float(seen.mean()) if seen.size else value
    day_base, _ = state.daily.expected(at, fallback)
    week_base, week_n = state.weekly.expected(at, day_base)
    base = week_base if week_n >= p.weekly_after else day_base
    scale = state.scale if np.isfinite(state.scale) else 0.0
    sigma = max(MAD_TO_SIGMA * scale, 1e-9)
    limit = p.clip * sigma if warm else np.inf
    daily = state.daily.learn(
        at, float(np.clip(value - day_base, -limit, limit)), fallback, p.alpha
    )
    weekly = state.weekly.learn(
        at, float(np.clip(value - week_base, -limit, limit)), day_base, p.alpha
    )
    return daily, weekly, value - base, sigma


def _apply_rules(new: MetricState, z: float, p: DetectorParams) -> tuple[MetricState, MetricScore]:
    cusum = max(new.cusum_hi, new.cusum_lo)
    score = max(abs(z) / p.z_limit, cusum / p.cusum_h, new.var_ewma / p.var_limit)
    rules: list[str] = []
    if abs(z) >= p.z_limit:
        rules.append("robust-z")
    if cusum >= p.cusum_h:
        rules.append("cusum")
        new = replace(new, cusum_hi=0.0, cusum_lo=0.0)
    if new.var_ewma >= p.var_limit:
        rules.append("variance")
        new = replace(new, var_ewma=1.0)
    return new, MetricScore(z, cusum, tuple(rules), float(score), True)
