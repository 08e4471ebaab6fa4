"""Reporting periods of the metrics API: named ranges and explicit dates, in whole UTC days.

A named range ends with today (UTC) included: ``last7days`` is the 7 UTC days up to and including
today, ``this_month`` the month so far. Explicit ``from`` / ``to`` are inclusive dates. Every
period is the half-open interval ``[start 00:00, day after the last 00:00)`` that the daily
rollups and the KPI cohorts share. A period may not end before it starts, start in the future,
or span more than ``MAX_DAYS`` days (a year and a day: a year-on-year view is two requests).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from ils.analytics.kpi import Period
from ils.errors import FieldIssue, ValidationFailed

RANGES: dict[str, int] = {"last7days": 7, "last30days": 30, "last90days": 90}
THIS_MONTH = "this_month"
RANGE_NAMES = (*RANGES, THIS_MONTH)
MAX_DAYS = 366


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def named_days(name: str, today: date) -> tuple[date, date]:
    """First and last day (inclusive) of a named range."""
    if name == THIS_MONTH:
        return today.replace(day=1), today
    if name not in RANGES:
        raise ValidationFailed([FieldIssue("/range", "unknown-range", f"one of {RANGE_NAMES}")])
    return today - timedelta(days=RANGES[name] - 1), today


def reporting_days(
    range_name: str | None, first: date | None, last: date | None, now: datetime
) -> tuple[date, date]:
    """The inclusive days asked for: explicit dates win over a range; default last30days."""
    today = now.astimezone(UTC).date()
    if first is None and last is None:
        return named_days(range_name or "last30days", today)
    first = first or (last or today) - timedelta(days=29)
    last = last or today
    issues = []
    if last < first:
        issues.append(FieldIssue("/from", "period-reversed", "from must not be after to"))
    elif (last - first).days + 1 > MAX_DAYS:
        issues.append(FieldIssue("/to", "period-too-long", f"at most {MAX_DAYS} days"))
    if first > today:
        issues.append(FieldIssue("/from", "period-in-future", "from must not be after today"))
    if issues:
        raise ValidationFailed(issues, "the period makes no sense")
    return first, last


def period_of(first: date, last: date) -> Period:
    """The half-open instant interval covering the inclusive days."""
    return Period(_midnight(first), _midnight(last + timedelta(days=1)))
