"""Blow-up guard: a forecast path that is not finite or absurdly far from the history is refused.

"Absurd" is measured against the history itself: more than ``ABSURD_FACTOR`` times the highest
day of the last year, or clearly negative. The caller falls back to a simpler model.
"""

from __future__ import annotations

import numpy as np

ABSURD_FACTOR = 5.0


def is_absurd(path: np.ndarray, history: np.ndarray) -> bool:
    if path.size == 0 or not np.all(np.isfinite(path)):
        return True
    recent = history[-365:]
    ceiling = ABSURD_FACTOR * float(recent.max()) + 10.0
    floor = -0.5 * float(recent.mean()) - 1.0
    return bool(path.max() > ceiling or path.min() < floor)


def clip_counts(path: np.ndarray) -> np.ndarray:
    """Orders are never negative."""
    return np.maximum(path, 0.0)
