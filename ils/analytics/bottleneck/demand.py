"""The work heading for each station: jobs routed through it as they enter the line.

A job's route is known when it enters the line (lens type, stock or surfaced, coatings: see
``ils.domain.station.route``), so a new product mix shows in the share of entering jobs routed
through a station minutes before the station's own arrivals jump (the jobs still pass order entry
and picking first). The share's change point is found by a binomial likelihood-ratio test over
the same candidate windows as the arrival rate's.
"""

from __future__ import annotations

import numpy as np


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
    total_t = float(times[-1] - times[0])
    hits_all = (routed[-1] - routed[0]).astype(float)
    trials_all = float(entered[-1] - entered[0])
    start = np.zeros(routed.shape[1], dtype=int)
    best = np.full(routed.shape[1], threshold)
    for w in windows:
        if w > total_t - 5.0:
            break
        a = int(np.searchsorted(times, times[-1] - w - 1e-9))
        hits = (routed[-1] - routed[a]).astype(float)
        trials = float(entered[-1] - entered[a])
        if not 0.0 < trials < trials_all:
            continue
        lr = 2.0 * (
            _binomial_ll(hits, trials)
            + _binomial_ll(hits_all - hits, trials_all - trials)
            - _binomial_ll(hits_all, trials_all)
        )
        better = lr > best
        start = np.where(better, a, start)
        best = np.where(better, lr, best)
    return start
