"""Calendar features of a day: weekday, yearly Fourier terms and public holidays.

Holidays come from the maintained ``holidays`` package for the lab's country (a lab setting).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np

YEAR_DAYS = 365.25


@lru_cache(maxsize=256)
def _holidays_in(country: str, year: int) -> dict[date, str]:
    """One country-year, cached: building a calendar costs milliseconds, a lookup nanoseconds."""
    return dict(holidays.country_holidays(country, years=year).items())


def _holidays_of(country: str, first_year: int, last_year: int) -> dict[date, str]:
    table: dict[date, str] = {}
    for year in range(first_year, last_year + 1):
        table.update(_holidays_in(country, year))
    return table


def holiday_names(country: str, start: date, days: int) -> list[str | None]:
    """The holiday name of each of ``days`` days from ``start`` (None for ordinary days)."""
    end = start + timedelta(days=max(days - 1, 0))
    table = _holidays_of(country, start.year, end.year)
    return [table.get(start + timedelta(days=i)) for i in range(days)]


def holiday_flags(country: str, start: date, days: int) -> np.ndarray:
    """Columns: holiday on a working day, first and second working day after a holiday.

    A holiday that falls on a weekend changes little for a lab, so only working-day holidays count;
    the catch-up after a holiday lands on the next working days.
    """
    names = holiday_names(country, start - timedelta(days=7), days + 7)
    weekdays = [(start + timedelta(days=i - 7)).weekday() for i in range(days + 7)]
    flags = np.zeros((days + 7, 3))
    since_holiday = 99
    for i, (name, weekday) in enumerate(zip(names, weekdays, strict=True)):
        if name is not None:
            flags[i, 0] = 1.0 if weekday < 5 else 0.0
            since_holiday = 0
        elif weekday < 5:
            since_holiday += 1
            if since_holiday in (1, 2):
                flags[i, since_holiday] = 1.0
    return flags[7:]


def weekday_dummies(start: date, days: int) -> np.ndarray:
    """Six columns (Tuesday..Sunday) against Monday."""
    weekday = (np.arange(days) + start.weekday()) % 7
    return (weekday[:, None] == np.arange(1, 7)[None, :]).astype(float)


def yearly_fourier(start: date, days: int, order: int) -> np.ndarray:
    """``2 * order`` columns of sin/cos of the day of the year."""
    if order <= 0:
        return np.zeros((days, 0))
    origin = date(start.year, 1, 1)
    t = (start - origin).days + np.arange(days)
    angle = 2.0 * np.pi * t[:, None] * np.arange(1, order + 1)[None, :] / YEAR_DAYS
    return np.hstack([np.sin(angle), np.cos(angle)])
