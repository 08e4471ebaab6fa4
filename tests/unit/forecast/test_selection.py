from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from ils.analytics.forecast import candidates
from ils.analytics.forecast.calendar import holiday_names
from ils.analytics.forecast.candidates import Candidate
from ils.analytics.forecast.guard import is_absurd
from ils.analytics.forecast.history import DailySeries
from ils.analytics.forecast.metrics import model_metrics
from ils.analytics.forecast.selection import ForecastFit, fit_and_select, forecast, refit
from ils.errors import ValidationFailed
from ils.sim.demand import WEEKDAY_PROFILE


def test_selection_uses_at_least_twelve_origins_and_beats_seasonal_naive(
    lab_fit: ForecastFit,
) -> None:
    assert lab_fit.backtest is not None and len(lab_fit.backtest.origins) >= 12
    scores = {s.model: s for s in lab_fit.scores}
    assert {"seasonal_naive", "ets", "regression", "mstl"} <= set(scores)
    chosen, naive = scores[lab_fit.model], scores["seasonal_naive"]
    assert chosen.mase is not None and naive.mase is not None
    assert chosen.mase < 0.8 * naive.mase


def test_selected_model_recovers_the_weekday_profile(lab_fit: ForecastFit) -> None:
    days = forecast(lab_fit, 28)
    names = holiday_names("US", days[0].date, 35)
    ordinary = [
        d for i, d in enumerate(days) if names[i] is None and (i == 0 or names[i - 1] is None)
    ]
    by_weekday = np.array(
        [np.mean([d.orders for d in ordinary if d.date.weekday() == w]) for w in range(7)]
    )
    truth = np.array(WEEKDAY_PROFILE)
    assert np.allclose(by_weekday / by_weekday.mean(), truth / truth.mean(), rtol=0.12)


def test_intervals_contain_the_truth_at_about_the_nominal_rate(lab_fit: ForecastFit) -> None:
    assert lab_fit.backtest is not None
    metrics = model_metrics(lab_fit.backtest, lab_fit.model)
    assert metrics.overall.coverage_80 is not None and metrics.overall.coverage_95 is not None
    assert 0.68 <= metrics.overall.coverage_80 <= 0.92
    assert 0.86 <= metrics.overall.coverage_95 <= 0.995


def test_forecast_days_are_ordered_bounds_nested_and_start_after_history(
    lab_fit: ForecastFit,
) -> None:
    days = forecast(lab_fit, 30)
    assert days[0].date == lab_fit.history.end + timedelta(days=1)
    for d in days:
        assert 0 <= d.lower_95 <= d.lower_80 <= d.orders <= d.upper_80 <= d.upper_95
    with pytest.raises(ValidationFailed):
        forecast(lab_fit, 31)


def test_a_holiday_is_forecast_low(lab_history: list[tuple[date, int]]) -> None:
    cut = next(i for i, (d, _) in enumerate(lab_history) if d == date(2024, 12, 10))
    fit = fit_and_select(lab_history[:cut], country="US", candidates=["regression"])
    by_date = {d.date: d.orders for d in forecast(fit, 30)}
    assert by_date[date(2024, 12, 25)] < 0.5 * by_date[date(2024, 12, 18)]


def _exploding(series: DailySeries, horizon: int, country: str) -> np.ndarray:
    return np.full(horizon, 1e12)


@pytest.fixture
def exploding_candidate() -> Iterator[str]:
    candidates.CANDIDATES["exploding"] = Candidate("exploding", 7, _exploding)
    yield "exploding"
    del candidates.CANDIDATES["exploding"]


def test_blow_ups_are_counted_disqualified_and_never_served(
    lab_history: list[tuple[date, int]], exploding_candidate: str
) -> None:
    fit = fit_and_select(lab_history[-200:], country="US", candidates=[exploding_candidate])
    score = next(s for s in fit.scores if s.model == exploding_candidate)
    assert fit.backtest is not None
    assert score.blowups == len(fit.backtest.origins)
    assert score.disqualified
    assert fit.model == "seasonal_naive"
    assert max(d.orders for d in forecast(fit, 30)) < 10 * max(v for _, v in lab_history)


def test_refit_falls_back_when_the_selected_model_blows_up(
    lab_fit: ForecastFit, lab_history: list[tuple[date, int]], exploding_candidate: str
) -> None:
    broken = replace(lab_fit, model=exploding_candidate, members=(exploding_candidate,))
    again = refit(broken, lab_history)
    assert again.model == "seasonal_naive"
    assert any("absurd" in note for note in again.notes)
    assert all(np.isfinite(d.upper_95) for d in forecast(again, 30))


def test_guard_refuses_non_finite_and_absurd_paths() -> None:
    history = np.full(100, 50.0)
    assert is_absurd(np.array([1.0, np.nan]), history)
    assert is_absurd(np.array([1.0, 1e6]), history)
    assert is_absurd(np.array([-500.0]), history)
    assert not is_absurd(np.array([40.0, 70.0]), history)


@pytest.mark.parametrize("days", [1, 5, 20])
def test_too_short_history_gets_the_honest_baseline_and_says_why(days: int) -> None:
    rows = [(date(2025, 1, 6) + timedelta(days=i), 10.0 + i % 7) for i in range(days)]
    fit = fit_and_select(rows, country="US")
    assert fit.model == "seasonal_naive" and fit.backtest is None
    assert any("too few" in note for note in fit.notes)
    out = forecast(fit, 30)
    assert all(np.isfinite([d.orders, d.lower_95, d.upper_95]).all() for d in out)
    assert all(d.upper_95 > d.orders for d in out)


def test_years_of_zeros_give_zero_forecast_and_defined_metrics() -> None:
    rows = [(date(2022, 1, 3) + timedelta(days=i), 0.0) for i in range(2 * 365)]
    fit = fit_and_select(rows, country="US")
    days = forecast(fit, 30)
    assert all(d.orders == 0.0 and np.isfinite(d.upper_95) for d in days)
    assert any("zero" in note for note in fit.notes)
    assert fit.backtest is not None
    overall = model_metrics(fit.backtest, fit.model).overall
    assert overall.mase is None and overall.wape is None
    assert overall.coverage_80 == 1.0


def test_backtest_metrics_compare_the_selected_model_with_the_baselines(
    lab_fit: ForecastFit,
) -> None:
    from ils.analytics.forecast import backtest_metrics

    reports = {m.model: m for m in backtest_metrics(lab_fit)}
    assert next(iter(reports)) == lab_fit.model and "seasonal_naive" in reports
    chosen = reports[lab_fit.model]
    assert len(chosen.by_horizon) == 30 and chosen.origins >= 12
    assert [h.horizon for h in chosen.by_horizon] == list(range(1, 31))
    naive_mase = reports["seasonal_naive"].overall.mase
    assert chosen.overall.mase is not None and naive_mase is not None
    assert chosen.overall.mase < naive_mase


def test_mstl_keeps_only_periods_shorter_than_half_the_history() -> None:
    assert candidates.mstl_periods(730) == (7,)
    assert candidates.mstl_periods(731) == (7, 365)
    assert candidates.mstl_periods(14) == ()


def test_unknown_candidate_is_a_validation_error(lab_history: list[tuple[date, int]]) -> None:
    with pytest.raises(ValidationFailed):
        fit_and_select(lab_history[:60], country="US", candidates=["prophet"])
