"""Reporting periods: named ranges, explicit dates, and the periods that make no sense."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ils.analytics.reporting import MAX_DAYS, period_of, reporting_days
from ils.errors import ValidationFailed

NOW = datetime(2026, 11, 25, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("last7days", date(2026, 11, 19)),
        ("last30days", date(2026, 10, 27)),
        ("last90days", date(2026, 8, 28)),
        ("this_month", date(2026, 11, 1)),
    ],
)
def test_named_ranges_end_today(name: str, first: date) -> None:
    assert reporting_days(name, None, None, NOW) == (first, date(2026, 11, 25))


def test_explicit_dates_win_and_periods_are_half_open_days() -> None:
    days = reporting_days("last7days", date(2026, 1, 1), date(2026, 1, 31), NOW)
    assert days == (date(2026, 1, 1), date(2026, 1, 31))
    period = period_of(*days)
    assert period.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 2, 1, tzinfo=UTC)
    assert reporting_days(None, date(2026, 11, 1), None, NOW) == (date(2026, 11, 1), NOW.date())


@pytest.mark.parametrize(
    ("first", "last", "code"),
    [
        (date(2026, 3, 1), date(2026, 2, 1), "period-reversed"),
        (date(2024, 1, 1), date(2025, 6, 1), "period-too-long"),
        (date(2027, 1, 1), date(2027, 1, 2), "period-in-future"),
    ],
)
def test_periods_that_make_no_sense_are_refused(first: date, last: date, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        reporting_days(None, first, last, NOW)
    assert code in [i.code for i in caught.value.issues]


def test_a_year_and_a_day_is_the_widest_period() -> None:
    first = date(2025, 11, 25)
    assert (NOW.date() - first).days + 1 == MAX_DAYS
    assert reporting_days(None, first, NOW.date(), NOW)[0] == first
    with pytest.raises(ValidationFailed):
        reporting_days(None, date(2025, 11, 24), NOW.date(), NOW)
    with pytest.raises(ValidationFailed):
        reporting_days("last_year", None, None, NOW)
