"""Process deviations: station cycle time, queue growth and breakage rate against SPC limits.

Limits come from a baseline with the I-MR chart and the Nelson rules of ``ils.analytics.spc`` (the
quality engineering rules, reused). Rules used by default: 1 (a point beyond 3 sigma), 2 (nine on
one side: a shift), 3 (six rising or falling: queue growth, a trend), 5 and 6 (smaller shifts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ils.analytics.anomaly.finding import Finding
from ils.analytics.spc import imr_limits, nelson_violations

PROCESS_METRICS = ("cycle_time_min", "queue_length", "breakage_rate")
DEFAULT_RULES = frozenset({1, 2, 3, 5, 6})


def spc_findings(
    kind: str,
    subject: str,
    baseline: Sequence[float],
    recent: Sequence[float],
    times: Sequence[float],
    rules: frozenset[int] = DEFAULT_RULES,
    min_sigma: float = 1e-12,
) -> list[Finding]:
    """One finding per point of ``recent`` where a chosen Nelson rule fires.

    ``min_sigma`` floors the baseline's sigma (a queue that was always empty at the hour still
    has a resolution of one job)."""
    limits = imr_limits(baseline).individuals
    sigma = max(limits.sigma, min_sigma)
    hits: dict[int, list[int]] = {}
    for rule, idx in nelson_violations(recent, limits.centre, sigma).items():
        if rule in rules:
            for i in idx:
                hits.setdefault(i, []).append(rule)
    out = []
    for i, fired in sorted(hits.items()):
        z = (float(recent[i]) - limits.centre) / sigma
        out.append(
            Finding(
                kind=kind,
                subject=subject,
                severity="critical" if 1 in fired else "warning",
                detected_at=float(times[i]),
                rule="nelson:" + ",".join(str(r) for r in sorted(fired)),
                score=abs(z) / 3.0,
                evidence={
                    "value": float(recent[i]),
                    "centre": limits.centre,
                    "ucl": limits.ucl,
                    "lcl": limits.lcl,
                    "sigma": sigma,
                    "nelson_rules": sorted(fired),
                    "baseline_n": len(baseline),
                },
            )
        )
    return out


def process_findings(
    station: str,
    metric: str,
    baseline: Sequence[float],
    recent: Sequence[float],
    times: Sequence[float],
) -> list[Finding]:
    """Deviations of one station metric (see PROCESS_METRICS) from its baseline behaviour."""
    if metric not in PROCESS_METRICS:
        raise ValueError(f"unknown process metric {metric!r}")
    if not np.all(np.isfinite(np.asarray(recent, dtype=float))):
        raise ValueError("process values must be finite")
    return spc_findings("process", f"station:{station}:{metric}", baseline, recent, times)
