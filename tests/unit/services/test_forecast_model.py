"""The per-lab forecast cache: what is served while a fit runs, when it refits, what it keeps."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from ils.db.forecast import LensTypeCount
from ils.services.forecast_model import (
    REFIT_AFTER,
    RESELECT_AFTER,
    FitRequest,
    InProcessForecaster,
    LabForecast,
    fit_lab,
)
from ils.services.forecasting import combine, fingerprint, import_issues
from ils.services.labour import labour_model
from ils.sim.demand import daily_order_history

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def request(days: int = 112, *, basis: str = "US|import-1", **changes: object) -> FitRequest:
    start = TODAY - timedelta(days=days)
    rows = tuple(
        (d, float(n))
        for d, n in daily_order_history(start, days, "US", 150.0, np.random.default_rng(3))
    )
    made = FitRequest("lab-1", rows, "US", TODAY, basis, fingerprint("US", list(rows)), NOW)
    return replace(made, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted_request() -> tuple[FitRequest, object]:
    req = request()
    return req, fit_lab(req, None)


def test_first_request_is_provisional_and_starts_one_fit() -> None:
    lab = LabForecast()
    req = request(40)
    served, start = lab.answer(req)
    assert (served.status, start) == ("provisional", True)
    assert served.fitted.fit.model == "seasonal_naive"
    assert served.fitted.fit.first_day == TODAY
    lab.started(req)
    assert lab.answer(req)[1] is False  # one fit at a time


def test_cached_fit_is_served_then_refitted_on_schedule(fitted_request: tuple) -> None:
    req, fitted = fitted_request
    lab = LabForecast()
    lab.finished(fitted)
    served, start = lab.answer(req)
    assert (served.status, start, served.lag_days) == ("current", False, 0)
    later = replace(req, now=NOW + REFIT_AFTER)
    served, start = lab.answer(later)
    assert (served.status, start) == ("current", True)
    assert "scheduled refit" in served.detail


def test_new_live_day_serves_the_shifted_fit_and_a_new_import_does_not(
    fitted_request: tuple,
) -> None:
    req, fitted = fitted_request
    lab = LabForecast()
    lab.finished(fitted)
    next_day = req.first_day
    newer = replace(
        req,
        rows=(*req.rows, (next_day, 120.0)),
        today=TODAY + timedelta(days=1),
        fingerprint="newer",
    )
    served, start = lab.answer(newer)
    assert (served.status, served.lag_days, start) == ("refitting", 1, True)
    imported = replace(newer, basis="US|import-2")
    assert lab.answer(imported)[0].status == "provisional"
    other_country = replace(newer, basis="GB|import-1")
    assert lab.answer(other_country)[0].status == "provisional"


def test_a_failed_fit_is_said_and_not_retried_for_the_same_history() -> None:
    lab = LabForecast()
    req = request(40)
    lab.started(req)
    lab.crashed(req, "LinAlgError: singular matrix")
    served, start = lab.answer(req)
    assert (served.status, start) == ("provisional", False)
    assert "failed" in served.detail
    assert lab.answer(replace(req, fingerprint="changed"))[1] is True


def test_refit_keeps_a_recent_selection_and_reselects_when_old_or_asked(
    fitted_request: tuple,
) -> None:
    req, fitted = fitted_request
    assert fitted.fit.backtest is not None and fitted.patterns is not None
    later = replace(req, now=NOW + timedelta(days=1))
    kept = fit_lab(later, fitted)
    assert kept.selected_at == fitted.selected_at and kept.fit.model == fitted.fit.model
    assert kept.fitted_at == later.now
    asked = fit_lab(replace(later, reselect=True), fitted)
    assert asked.selected_at == later.now
    stale = fit_lab(replace(req, now=NOW + RESELECT_AFTER), fitted)
    assert stale.selected_at == NOW + RESELECT_AFTER


async def test_in_process_forecaster_fits_off_the_request_path() -> None:
    forecaster = InProcessForecaster()
    req = request(60)
    first = await forecaster.serve(req)
    assert first.status == "provisional"
    await asyncio.wait_for(forecaster.settle(), timeout=60)
    second = await forecaster.serve(req)
    assert second.status == "current"
    assert second.fitted.fingerprint == req.fingerprint


def test_combine_takes_the_larger_count_and_fills_live_days_with_zero() -> None:
    d = [date(2026, 2, 20) + timedelta(days=i) for i in range(6)]
    imported = [(d[0], 10), (d[1], 10), (d[2], 2)]
    live = [(d[2], 7), (d[4], 3), (d[5], 99)]  # d[5] is "today": incomplete
    rows, live_days, both = combine(imported, live, today=d[5])
    assert rows == [(d[0], 10.0), (d[1], 10.0), (d[2], 7.0), (d[3], 0.0), (d[4], 3.0)]
    assert (live_days, both) == (3, 1)


def test_import_refuses_duplicates_and_incomplete_days() -> None:
    days = [(date(2026, 1, 1), 3), (date(2026, 1, 2), 4), (date(2026, 1, 1), 5), (TODAY, 1)]
    issues = import_issues(days, TODAY)
    assert [(i.pointer, i.code) for i in issues] == [
        ("/days/2/date", "duplicate-date"),
        ("/days/3/date", "date-not-complete"),
    ]


def test_labour_counts_coating_stations_by_the_share_of_coated_jobs() -> None:
    counts = [
        LensTypeCount("single_vision", 60, ar=30, tint=0),
        LensTypeCount("progressive", 40, ar=40, tint=10),
    ]
    model = labour_model(counts, {})
    ar_minutes = 0.5  # 15 min to load a 30-lens AR batch
    assert model.minutes_per_order["ar_coat"] == pytest.approx(ar_minutes * 0.7)
    assert model.minutes_per_order["tinting"] == pytest.approx(3.0 * 0.1)
    assert model.sources["lens_mix"]["orders"] == 100
    empty = labour_model([], {"edging": {"progressive": 4.0}})
    assert empty.sources["lens_mix"]["orders"] == 0
    assert "upper bound" in empty.sources["lens_mix"]["basis"]
    assert empty.minutes_per_order["tinting"] == pytest.approx(3.0)
