"""Daily demand history: validation, ordering, duplicates and gaps.

A lab's history arrives from an import (``PUT /api/ai/demand-history``) and from live orders, so it
can be unsorted, hold the same date twice, skip days or carry a bad value. Cleaning turns it into
one value per consecutive day and says, in ``notes``, what it had to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from ils.errors import FieldIssue, ValidationFailed

#: Lags (days) whose observed values fill a missing day: same weekday, nearest weeks first.
GAP_FILL_LAGS: tuple[int, ...] = (7, -7, 14, -14, 21, -21, 28, -28)


@dataclass(frozen=True)
class DailySeries:
    """One value per consecutive day from ``start``; ``imputed`` marks days that were filled."""

    start: date
    values: np.ndarray
    imputed: np.ndarray
    notes: tuple[str, ...] = field(default=())

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.values) - 1)

    def __len__(self) -> int:
        return len(self.values)

    def head(self, days: int) -> DailySeries:
        """The first ``days`` days (a training window for a backtest origin)."""
        return DailySeries(self.start, self.values[:days], self.imputed[:days], self.notes)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.values))]


def clean_history(rows: Sequence[tuple[date, float]], *, today: date | None = None) -> DailySeries:
    """Validate and regularise ``rows`` of ``(date, orders)``.

    Negative or non-finite counts are refused (422, one issue per row). Days on or after ``today``
    are incomplete and dropped. Duplicate dates keep the last value given, unsorted rows are
    sorted, and gaps are filled from the same weekday of neighbouring weeks.
    """
    _refuse_bad_counts(rows)
    notes: list[str] = []
    by_day: dict[date, float] = {}
    for day, orders in rows:
        if day in by_day:
            notes.append(f"duplicate date {day.isoformat()}: the last value was kept")
        by_day[day] = float(orders)
    if today is not None:
        late = [d for d in by_day if d >= today]
        for day in late:
            del by_day[day]
        if late:
            notes.append(f"{len(late)} day(s) on or after {today.isoformat()} are incomplete")
    if not by_day:
        raise ValidationFailed(
            [FieldIssue("/days", "history-empty", "no complete day of history")],
            "a forecast needs at least one complete day of history",
        )
    if list(by_day) != sorted(by_day):
        notes.append("dates were not in order and were sorted")
    return _regularise(by_day, notes)


def _refuse_bad_counts(rows: Sequence[tuple[date, float]]) -> None:
    issues = [
        FieldIssue(f"/days/{i}/orders", "orders-invalid", f"{orders!r} is not a count >= 0")
        for i, (_, orders) in enumerate(rows)
        if not np.isfinite(orders) or orders < 0
    ]
    if issues:
        raise ValidationFailed(issues)


def _regularise(by_day: dict[date, float], notes: list[str]) -> DailySeries:
    start, end = min(by_day), max(by_day)
    n = (end - start).days + 1
    values = np.full(n, np.nan)
    for day, orders in by_day.items():
        values[(day - start).days] = orders
    missing = np.isnan(values)
    if missing.any():
        notes.append(f"{int(missing.sum())} missing day(s) filled from the same weekday")
        values = _fill_gaps(values, missing)
    return DailySeries(start, values, missing, tuple(notes))


def _fill_gaps(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    observed = values[~missing]
    fallback = float(np.median(observed))
    filled = values.copy()
    for i in np.flatnonzero(missing):
        donors = [
            values[i + lag]
            for lag in GAP_FILL_LAGS
            if 0 <= i + lag < len(values) and not missing[i + lag]
        ]
        filled[i] = float(np.median(donors[:4])) if donors else fallback
    return filled
