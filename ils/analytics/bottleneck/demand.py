"""The work heading for each station: jobs routed through it as they enter the line.

A job's route is known when it enters the line (lens type, stock or surfaced, coatings: see
``ils.domain.station.route``), so a new product mix shows in the share of entering jobs routed
through a station minutes before the station's own arrivals jump (the jobs still pass order entry
and picking first). The share's change point is found by a binomial likelihood-ratio test over
the same candidate windows as the arrival rate's, and the station's rate is the line's entry rate
times that share, each measured since its own change (``routed_rate``).
"""

from __future__ import annotations

import numpy as np

from ils.analytics.bottleneck.change_point import changed_rate_since, latest_change


def _binomial_ll(hits: np.ndarray, trials: float) -> np.ndarray:
    p = np.clip(hits / max(trials, 1e-9), 1e-12, 1.0 - 1e-12)
    misses = trials - hits
    return np.asarray(
        np.where(hits > 0, hits * np.log(p), 0.0)
        + np.where(misses > 0, misses * np.log(1.0 - p), 0.0)
    )


def share_changed_since(
    routed: np.ndarray,
    entered: np.ndarray,
    times: np.ndarray,
    windows: tuple[float, ...],
    threshold: float,
) -> np.ndarray:
    """Per station: the index of the sample from which the share of entering jobs routed through
    it differs from the share before (2 log likelihood-ratio above ``threshold``, the most
    significant of ``windows`` minutes before now; 0: no change). ``routed`` (times, stations)
    and ``entered`` (times) are cumulative counts."""
    hits_all = (routed[-1] - routed[0]).astype(float)
    trials_all = float(entered[-1] - entered[0])

    def lr_from(a: int) -> np.ndarray | None:
        hits = (routed[-1] - routed[a]).astype(float)
        trials = float(entered[-1] - entered[a])
        if not 0.0 < trials < trials_all:
            return None
        return 2.0 * (
            _binomial_ll(hits, trials)
            + _binomial_ll(hits_all - hits, trials_all - trials)
            - _binomial_ll(hits_all, trials_all)
        )

    return latest_change(times, windows, threshold, routed.shape[1], lr_from)


def routed_rate(
    routed: np.ndarray, entered: np.ndarray, times: np.ndarray, share_from: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per station: the rate of jobs heading for it (jobs a minute) and the jobs routed through
    it since ``share_from`` (the count the estimate rests on).

    The rate is the line's entry rate times the share of entering jobs routed through the
    station. The two are measured apart, each since its own change: the entry rate over the
    stretch since its Poisson change point (``change_point``; the whole look-back, hundreds of
    jobs, while only the mix changed), the share over the jobs that entered since
    ``share_from``, as its posterior mean under a Jeffreys Beta(1/2, 1/2) prior. A count ratio
    over the few minutes since a new mix carries the noise of the entry process too (about
    14 jobs in 15 minutes: a standard error near 27%); the share alone has a binomial one
    (about 8% at a 90% share)."""
    cols = np.arange(routed.shape[1])
    entry_from = int(changed_rate_since(entered[:, None], times)[0])
    entry_rate = (float(entered[-1] - entered[entry_from]) + 0.5) / max(
        float(times[-1] - times[entry_from]), 1e-9
    )
    hits = (routed[-1] - routed[share_from, cols]).astype(float)
    trials = (entered[-1] - entered[share_from]).astype(float)
    return entry_rate * (hits + 0.5) / (trials + 1.0), hits
