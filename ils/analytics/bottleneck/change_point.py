"""Change points of event rates in cumulative station counts (arrivals, departures).

A single change point per station: the latest stretch of the look-back whose rate differs from
the rest by a Poisson likelihood-ratio test, the most significant of ``CHANGE_WINDOWS`` minutes
before now with 2 log LR above a threshold (``CHANGE_LR`` for arrivals). Detection measures a
changed station's rates since its change, so a change is not diluted over the whole look-back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Candidate change points, minutes before now, and the 2 log likelihood-ratio a change of the
#: arrival rate must pass.
CHANGE_WINDOWS = (5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)
CHANGE_LR = 8.0


def _poisson_ll(count: np.ndarray, rate: np.ndarray, minutes: np.ndarray | float) -> np.ndarray:
    logs = np.where(count > 0, count * np.log(np.maximum(rate, 1e-12)), 0.0)
    return np.asarray(logs - rate * minutes)


def latest_change(
    times: np.ndarray,
    windows: tuple[float, ...],
    threshold: float,
    width: int,
    lr_from: Callable[[int], np.ndarray | None],
) -> np.ndarray:
    """Per column: the index of the sample that starts the most significant of the stretches
    ``windows`` minutes before now (0: none passed ``threshold``).

    ``lr_from(a)`` gives each column's 2 log likelihood-ratio for "the stretch from sample ``a``
    differs from the rest", or None when that split is not testable; a window is tried only
    while at least 5 minutes of look-back remain before it."""
    total_t = float(times[-1] - times[0])
    start = np.zeros(width, dtype=int)
    best = np.full(width, threshold)
    for w in windows:
        if w > total_t - 5.0:
            break
        a = int(np.searchsorted(times, times[-1] - w - 1e-9))
        lr = lr_from(a)
        if lr is None:
            continue
        better = lr > best
        start = np.where(better, a, start)
        best = np.where(better, lr, best)
    return start


def changed_rate_since(
    counts: np.ndarray,
    times: np.ndarray,
    exposure: np.ndarray | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Per station: the index of the sample its rate is measured from (0: no change).

    ``counts`` are cumulative events per sample and station (arrivals, or departures) and
    ``exposure`` the cumulative time they happened over (default: the clock; for departures,
    busy server-minutes, so the rate is one over the mean service time)."""
    expo = np.repeat(times[:, None], counts.shape[1], axis=1) if exposure is None else exposure
    total_t = float(times[-1] - times[0])
    total = (counts[-1] - counts[0]).astype(float)
    total_e = (expo[-1] - expo[0]).astype(float)

    def lr_from(a: int) -> np.ndarray | None:
        if not 0.0 < float(times[-1] - times[a]) < total_t:
            return None
        recent = (counts[-1] - counts[a]).astype(float)
        recent_e = (expo[-1] - expo[a]).astype(float)
        older, older_e = total - recent, total_e - recent_e
        ok = (recent_e > 0.0) & (older_e > 0.0)
        lr = 2.0 * (
            _poisson_ll(recent, recent / np.where(ok, recent_e, 1.0), recent_e)
            + _poisson_ll(older, older / np.where(ok, older_e, 1.0), older_e)
            - _poisson_ll(total, total / np.maximum(total_e, 1e-9), total_e)
        )
        return np.where(ok, lr, -np.inf)

    limit = CHANGE_LR if threshold is None else threshold
    return latest_change(times, CHANGE_WINDOWS, limit, counts.shape[1], lr_from)
