"""Quality anomalies: inspection deviations and breakage/remake spikes by reason and station.

- Inspection deviations: the signed error (measured - ordered) of one inspected field, in order,
  against SPC limits from a baseline (``process.spc_findings``): a drifting generator or a worn
  polisher shows as a run on one side long before lenses fail the tolerance.
- Spikes: for each (station, reason) group, the count of breakages (or remakes) among the jobs of
  the period is tested against the group's baseline rate with a one-sided binomial test
  (``scipy.stats.binom``); the significance level is Bonferroni-corrected for the number of groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scipy.stats import binom

from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.process import DEFAULT_RULES, spc_findings


def inspection_findings(
    field: str,
    baseline_errors: Sequence[float],
    errors: Sequence[float],
    times: Sequence[float],
    rules: frozenset[int] = DEFAULT_RULES,
) -> list[Finding]:
    """``field`` is an inspection pointer such as ``/od/sphere``."""
    subject = f"inspection:{field}"
    return spc_findings("quality", subject, baseline_errors, errors, times, rules)


def spike_findings(
    what: str,
    counts: Mapping[tuple[str, str], int],
    jobs: int,
    baseline_rates: Mapping[tuple[str, str], float],
    at: float,
    alpha: float = 0.01,
) -> list[Finding]:
    """``what`` is ``breakage`` or ``remake``; keys are (station, reason)."""
    if jobs <= 0:
        return []
    level = alpha / max(len(counts), 1)
    out = []
    for (station, reason), k in sorted(counts.items()):
        p0 = min(max(baseline_rates.get((station, reason), 0.0), 1e-6), 1.0)
        p_value = float(binom.sf(k - 1, jobs, p0))
        if k > jobs * p0 and p_value < level:
            out.append(
                Finding(
                    kind="quality",
                    subject=f"{what}:{station}:{reason}",
                    severity="critical" if p_value < level / 100 else "warning",
                    detected_at=at,
                    rule="binomial-spike",
                    score=k / max(jobs * p0, 1e-9),
                    evidence={
                        "count": k,
                        "jobs": jobs,
                        "baseline_rate": p0,
                        "expected": jobs * p0,
                        "p_value": p_value,
                        "level": level,
                    },
                )
            )
    return out
