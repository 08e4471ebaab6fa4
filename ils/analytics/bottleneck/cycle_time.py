"""Machine cycle time: a station's own equipment telemetry as a direct signal of its service speed.

Machines report ``cycle_time_s`` with every reading (ILS stores it for anomaly detection); a
station snapshot may carry the mean of its machines' recent readings (``machine_cycle_s``). A
machine that slows shows there within minutes, while the jobs it finishes take far longer to
measure the slowdown (a 6-minute task at 1 job/min: about a dozen departures in 15 minutes).

The test: for each candidate change point (``WINDOWS`` minutes before now, with at least
``MIN_READINGS`` readings after it and twice as many before) the shift of the median reading
after it against the median before, in units of its own standard error: the readings' noise is
estimated robustly (1.4826 x the median absolute deviation of each reading from its own side's
median, both sides pooled, so the change itself does not inflate it) and the standard error of a
median of n Gaussian readings is about 1.2533 sigma / sqrt(n). Medians ignore single-reading
spikes (a median of ``MIN_READINGS`` readings moves only when three of them spike, and a real
change shows once three readings are past it). The shift is read against Student's t with the
degrees of freedom of a standard deviation from 37% as many readings (the median absolute
deviation's efficiency at the Gaussian), so a short look-back, whose noise estimate is itself
uncertain, needs a larger shift. Of the windows with a two-sided
p below ``CYCLE_P``, the one whose shift passes its critical value by the largest factor is the
change; both directions count (a machine repaired speeds up again). ``CYCLE_P`` is not tuned on
any bench: it is the two-sided Gaussian tail of 5 standard errors, small against the number of
tests a day of detection makes (windows x stations x evaluations, about 10^5), so a stable station
is almost never called changed by noise.

Readings must be independent from sample to sample (each snapshot averages the readings since the
previous one, or one reading of every machine); a sample of 0 has no reading and is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

#: Candidate change points (minutes before now).
WINDOWS = (2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)
#: Fewest readings on the recent side of a change point (twice as many on the older side).
MIN_READINGS = 5
#: Two-sided p-value a change must pass (the Gaussian tail beyond 5 standard errors).
CYCLE_P = float(2.0 * stats.norm.sf(5.0))
#: Standard error of a Gaussian sample's median in units of sigma / sqrt(n).
_MEDIAN_SE = float(np.sqrt(np.pi / 2.0))
_MAD_SIGMA = 1.4826
#: Efficiency of the median absolute deviation as an estimate of sigma at the Gaussian.
_MAD_EFFICIENCY = 0.37


@lru_cache(maxsize=4096)
def critical_z(readings: int) -> float:
    """|z| a shift measured on ``readings`` readings in all must pass (see the module doc)."""
    df = max(_MAD_EFFICIENCY * (readings - 2), 1.0)
    return float(stats.t.isf(CYCLE_P / 2.0, df))


@dataclass(frozen=True)
class CycleChange:
    """Per station: the sample index the change starts at (0: no change), the median reading
    before and after it (seconds; both the overall median where unchanged, 0 without
    readings) and the z of the shift (0 where unchanged)."""

    start: np.ndarray
    before: np.ndarray
    after: np.ndarray
    z: np.ndarray

    @property
    def changed(self) -> np.ndarray:
        return self.start > 0

    def evidence(self, stations: tuple[str, ...], times: np.ndarray) -> dict[str, dict[str, float]]:
        """Per station with readings: its median cycle time before and after the change (the
        same where it did not change), and where it changed the change's time and z."""
        out: dict[str, dict[str, float]] = {}
        for j, name in enumerate(stations):
            if self.before[j] <= 0:
                continue
            out[name] = {
                "before": round(float(self.before[j]), 2),
                "after": round(float(self.after[j]), 2),
            }
            if self.changed[j]:
                out[name] |= {
                    "since_min": round(float(times[self.start[j]]), 2),
                    "z": round(float(self.z[j]), 1),
                }
        return out

    @property
    def ratio(self) -> np.ndarray:
        """After / before where the cycle time changed, else 1."""
        ok = self.changed & (self.before > 0)
        return np.where(ok, self.after / np.where(ok, self.before, 1.0), 1.0)


def _shift_z(old: np.ndarray, new: np.ndarray) -> tuple[float, float, float]:
    """(median before, median after, z of the shift)."""
    lo, hi = float(np.median(old)), float(np.median(new))
    dev = np.concatenate([np.abs(old - lo), np.abs(new - hi)])
    sigma = _MAD_SIGMA * float(np.median(dev))
    se = _MEDIAN_SE * sigma * float(np.sqrt(1.0 / len(old) + 1.0 / len(new)))
    if se <= 0.0:
        return lo, hi, 0.0 if hi == lo else float(np.sign(hi - lo) * np.inf)
    return lo, hi, (hi - lo) / se


def cycle_changed_since(cycle: np.ndarray, times: np.ndarray) -> CycleChange:
    """The most significant change of each station's machine cycle time (see the module doc).
    ``cycle`` (times, stations) in seconds, 0 where a sample has no reading."""
    m = cycle.shape[1]
    start = np.zeros(m, dtype=int)
    before, after, best, score = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
    for j in range(m):
        seen = cycle[:, j] > 0
        if not seen.any():
            continue
        before[j] = after[j] = float(np.median(cycle[seen, j]))
        for w in WINDOWS:
            a = int(np.searchsorted(times, times[-1] - w + 1e-9))
            old, new = cycle[:a, j][seen[:a]], cycle[a:, j][seen[a:]]
            if len(new) < MIN_READINGS or len(old) < 2 * MIN_READINGS:
                continue
            lo, hi, z = _shift_z(old, new)
            excess = abs(z) / critical_z(len(old) + len(new))
            if excess > max(1.0, score[j]):
                start[j], before[j], after[j], best[j], score[j] = a, lo, hi, z, excess
    return CycleChange(start, before, after, best)
