"""Streaming detector for one metric of one machine: robust z-scores on a seasonal EWMA baseline.

The baseline is an hour-of-day profile (24 EWMA bins, so the shift pattern is not an anomaly). The
scale is an EWMA of absolute residuals (x 1.2533, the normal-consistent factor for the mean absolute
deviation). Residuals are clipped at ``clip`` sigmas before they update the baseline (a Huber-style
update), so a spike or a failure does not drag the baseline with it; a slow, lasting change is
absorbed over days.

Two rules fire: ``robust-z`` (one reading beyond ``z_limit`` sigmas) and ``cusum`` (a two-sided
CUSUM of the z-scores with slack ``cusum_k`` passes ``cusum_h``: a sustained shift). Written here
because no maintained library offers a serialisable streaming seasonal detector; the state is a
small frozen dataclass that an actor can snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

_HOUR = 3600.0
_DAY = 86400.0
MAD_TO_SIGMA = 1.2533


@dataclass(frozen=True)
class DetectorParams:
    alpha: float = 0.05  # baseline bin update weight once a bin has seen enough readings
    beta: float = 0.01  # scale update weight once warm
    clip: float = 3.0
    z_limit: float = 6.0
    cusum_k: float = 1.0
    cusum_h: float = 10.0
    warmup: int = 288


@dataclass(frozen=True)
class MetricState:
    profile: np.ndarray = field(default_factory=lambda: np.full(24, np.nan))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(24))
    scale: float = float("nan")
    n: int = 0
    cusum_hi: float = 0.0
    cusum_lo: float = 0.0
    last_at: float = float("-inf")


@dataclass(frozen=True)
class MetricScore:
    z: float
    cusum: float
    rule: str | None  # "robust-z", "cusum" or None
    score: float  # the larger statistic over its limit (>= 1 when a rule fires)
    warm: bool


def _bins(at: float) -> tuple[int, int, float]:
    """The two hour bins around ``at`` (bin centres at hh:30) and the weight of the second."""
    u = (at % _DAY) / _HOUR - 0.5
    lo = int(np.floor(u))
    return lo % 24, (lo + 1) % 24, u - lo


def update_metric(
    state: MetricState, value: float, at: float, p: DetectorParams | None = None
) -> tuple[MetricState, MetricScore]:
    """Score one reading against the baseline, then fold it into the baseline."""
    p = p or DetectorParams()
    i0, i1, w = _bins(at)
    profile, counts = state.profile.copy(), state.counts.copy()
    seen = profile[~np.isnan(profile)]
    fill = float(seen.mean()) if seen.size else value
    for i in (i0, i1):
        if np.isnan(profile[i]):
            profile[i] = fill
    scale = state.scale if np.isfinite(state.scale) else 0.0
    resid = value - ((1 - w) * profile[i0] + w * profile[i1])
    sigma = max(MAD_TO_SIGMA * scale, 1e-9)
    z = resid / sigma
    clipped = float(np.clip(resid, -p.clip * sigma, p.clip * sigma))
    warm = state.n >= p.warmup
    for i, share in ((i0, 1 - w), (i1, w)):
        counts[i] += share
        profile[i] += (
            max(p.alpha, 1.0 / (counts[i] + 1.0)) * share * (resid if not warm else clipped)
        )
    # while warming up the scale is the plain mean absolute residual (nothing to clip against yet)
    step = p.beta if warm else 1.0 / (state.n + 1)
    scale = scale + step * ((abs(clipped) if warm else abs(resid)) - scale)
    zc = float(np.clip(z, -p.clip * 2, p.clip * 2)) if warm else 0.0
    hi = max(0.0, state.cusum_hi + zc - p.cusum_k)
    lo = max(0.0, state.cusum_lo - zc - p.cusum_k)
    new = MetricState(profile, counts, scale, state.n + 1, hi, lo, at)
    cusum = max(hi, lo)
    score = max(abs(z) / p.z_limit, cusum / p.cusum_h) if warm else 0.0
    rule = None
    if warm and abs(z) >= p.z_limit:
        rule = "robust-z"
    elif warm and cusum >= p.cusum_h:
        rule = "cusum"
        new = replace(new, cusum_hi=0.0, cusum_lo=0.0)
    return new, MetricScore(float(z), cusum, rule, float(score), warm)
