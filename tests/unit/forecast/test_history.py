from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from ils.analytics.forecast.history import clean_history
from ils.errors import ValidationFailed

D0 = date(2025, 3, 3)  # a Monday


def _days(values: list[float]) -> list[tuple[date, float]]:
    return [(D0 + timedelta(days=i), v) for i, v in enumerate(values)]


def test_negative_and_non_finite_counts_are_refused_with_pointers() -> None:
    with pytest.raises(ValidationFailed) as caught:
        clean_history(_days([5, -1, 3, float("nan")]))
    pointers = [issue.pointer for issue in caught.value.issues]
    assert pointers == ["/days/1/orders", "/days/3/orders"]


def test_empty_history_is_a_clear_validation_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        clean_history([])
    assert caught.value.issues[0].code == "history-empty"


def test_unsorted_and_duplicate_dates_are_ordered_and_the_last_value_kept() -> None:
    rows = [(D0 + timedelta(days=2), 30.0), (D0, 10.0), (D0 + timedelta(days=1), 20.0), (D0, 11.0)]
    series = clean_history(rows)
    assert series.start == D0
    assert series.values.tolist() == [11.0, 20.0, 30.0]
    assert any("duplicate" in note for note in series.notes)
    assert any("sorted" in note for note in series.notes)


def test_gaps_are_filled_from_the_same_weekday() -> None:
    values = [100.0, 90, 80, 70, 60, 10, 5] * 4
    rows = [row for i, row in enumerate(_days(values)) if i != 15]  # a Tuesday in week 3
    series = clean_history(rows)
    assert len(series) == 28
    assert series.imputed[15] and series.imputed.sum() == 1
    assert series.values[15] == pytest.approx(90.0)
    assert any("missing" in note for note in series.notes)


def test_days_from_today_on_are_incomplete_and_dropped() -> None:
    series = clean_history(_days([1, 2, 3, 4]), today=D0 + timedelta(days=3))
    assert series.end == D0 + timedelta(days=2)
    assert np.array_equal(series.values, [1, 2, 3])
