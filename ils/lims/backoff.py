"""Exponential backoff with full jitter for the outbox (the schedule of the next attempt).

Full jitter (a uniform draw between 0 and ``min(cap, base * 2**attempt)``) spreads retries of many
rows so a recovering LIMS is not hit by all of them at once (M. Brooker, "Exponential Backoff And
Jitter", AWS Architecture Blog, 2015). tenacity's ``wait_random_exponential`` draws from the global
random generator; the relay passes its own seeded ``random.Random`` so schedules are reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 300.0

    def delay(self, attempt: int, rng: random.Random, at_least_s: float = 0.0) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` >= 1 failures so far).

        ``at_least_s`` is a floor the server asked for (``Retry-After``).
        """
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1))
        return max(at_least_s, rng.uniform(0.0, ceiling))
