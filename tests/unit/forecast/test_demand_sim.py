from __future__ import annotations

from datetime import date

import numpy as np

from ils.sim.demand import daily_order_history


def test_same_seed_same_history_and_counts_are_ints() -> None:
    a = daily_order_history(date(2024, 1, 1), 60, "US", 200.0, np.random.default_rng(3))
    b = daily_order_history(date(2024, 1, 1), 60, "US", 200.0, np.random.default_rng(3))
    assert a == b
    assert all(isinstance(v, int) and v >= 0 for _, v in a)
    assert a[0][0] == date(2024, 1, 1) and a[-1][0] == date(2024, 2, 29)


def test_weekends_and_holidays_are_low() -> None:
    rows = daily_order_history(date(2024, 1, 1), 364, "US", 400.0, np.random.default_rng(4))
    by_weekday = [np.mean([v for d, v in rows if d.weekday() == w]) for w in range(7)]
    assert by_weekday[6] < 0.4 * by_weekday[0]
    assert by_weekday[5] < by_weekday[4]
    counts = dict(rows)
    assert counts[date(2024, 7, 4)] < 0.5 * counts[date(2024, 6, 27)]  # Independence Day
