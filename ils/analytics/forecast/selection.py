"""Model selection per tenant and the forecast itself.

``fit_and_select`` cleans the history, backtests every candidate the history is long enough for
on the same rolling origins, considers the mean of the two best as a combination, picks the lowest
MASE (the seasonal naive baseline wins ties), fits the winner on the whole history and calibrates
its intervals on its own backtest errors. ``forecast`` only slices the stored path, so serving is
free; ``refit`` refits the chosen model on newer history without reselecting (a daily job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from ils.analytics.forecast.backtest import Backtest, plan_origins, recent_level, run_backtest
from ils.analytics.forecast.candidates import BASELINE, CANDIDATES
from ils.analytics.forecast.guard import clip_counts, is_absurd
from ils.analytics.forecast.history import DailySeries, clean_history
from ils.analytics.forecast.intervals import (
    IntervalCalibration,
    bounds,
    calibrate,
    naive_calibration,
)
from ils.errors import FieldIssue, ValidationFailed

DEFAULT_ORIGINS = 12
MIN_ORIGINS = 3
MAX_BLOWUP_SHARE = 0.25


@dataclass(frozen=True)
class CandidateScore:
    model: str
    mase: float | None
    mae: float
    blowups: int
    disqualified: bool


@dataclass(frozen=True)
class ForecastDay:
    date: date
    orders: float
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float


@dataclass(frozen=True)
class ForecastFit:
    """A selected and fitted model, ready to serve up to ``horizon_max`` days."""

    model: str
    members: tuple[str, ...]
    country: str
    history: DailySeries
    horizon_max: int
    path: np.ndarray
    calibration: IntervalCalibration
    scores: tuple[CandidateScore, ...]
    backtest: Backtest | None
    notes: tuple[str, ...]

    @property
    def first_day(self) -> date:
        return self.history.end + timedelta(days=1)


def fit_and_select(
    history: Sequence[tuple[date, float]],
    *,
    country: str,
    horizon_max: int = 30,
    today: date | None = None,
    origins: int = DEFAULT_ORIGINS,
    candidates: Sequence[str] | None = None,
) -> ForecastFit:
    """Select the best candidate for this history by rolling-origin backtest and fit it."""
    series = clean_history(history, today=today)
    unknown = sorted(set(candidates or ()) - set(CANDIDATES))
    if unknown:
        raise ValidationFailed(
            [FieldIssue("/candidates", "unknown-model", f"unknown model(s): {', '.join(unknown)}")]
        )
    names = [n for n in (candidates or CANDIDATES) if n != BASELINE]
    notes = list(series.notes)
    plan, names = _plan(len(series), [BASELINE, *names], horizon_max, origins, notes)
    if len(plan) < MIN_ORIGINS:
        return _baseline_only(series, country, horizon_max, notes)
    backtest = run_backtest(series, names, horizon_max, country, plan)
    backtest, scores = _with_combination(backtest, _score_all(backtest))
    ranked = sorted((s for s in scores if not s.disqualified), key=_rank_key)
    if not np.any(series.values):
        notes.append("every day of the history is zero: the forecast is zero")
    for choice in ranked:
        members = tuple(choice.model.split("+"))
        path = _fit_path(series, members, horizon_max, country)
        if path is not None:
            actual, predicted = backtest.actuals, backtest.forecasts[choice.model]
            calibration = calibrate(actual, predicted, backtest.levels)
            return ForecastFit(
                choice.model, members, country, series, horizon_max, clip_counts(path),
                calibration, tuple(scores), backtest, tuple(notes),
            )  # fmt: skip
        notes.append(f"{choice.model} gave a non-finite or absurd forecast and was skipped")
    return _baseline_only(series, country, horizon_max, notes)


def _rank_key(score: CandidateScore) -> tuple[float, int]:
    primary = score.mase if score.mase is not None else score.mae
    return (primary, 0 if score.model == BASELINE else 1)


def _plan(
    days: int, names: list[str], horizon: int, count: int, notes: list[str]
) -> tuple[tuple[int, ...], list[str]]:
    """Origins for the richest candidate set that still gets ``count`` origins."""
    chosen = list(names)
    while True:
        min_train = max(CANDIDATES[n].min_days for n in chosen)
        plan = plan_origins(days, min_train, horizon, count)
        if len(plan) == count or len(chosen) == 1:
            break
        dropped = max(chosen, key=lambda n: CANDIDATES[n].min_days)
        chosen = [n for n in chosen if CANDIDATES[n].min_days < CANDIDATES[dropped].min_days]
        chosen = chosen or [BASELINE]
    skipped = sorted(set(names) - set(chosen))
    if skipped:
        notes.append(f"{days} days of history are too few to backtest {', '.join(skipped)}")
    return plan, chosen


def _score_all(backtest: Backtest) -> list[CandidateScore]:
    limit = MAX_BLOWUP_SHARE * len(backtest.origins)
    return [
        _score(backtest, name, blowups=backtest.blowups[name], limit=limit)
        for name in backtest.forecasts
    ]


def _score(backtest: Backtest, name: str, blowups: int, limit: float) -> CandidateScore:
    error = np.abs(backtest.forecasts[name] - backtest.actuals)
    scales = backtest.mase_scales
    defined = scales > 0
    mase = float(np.mean(error[defined] / scales[defined, None])) if defined.any() else None
    return CandidateScore(name, mase, float(error.mean()), blowups, blowups > limit)


def _with_combination(
    backtest: Backtest, scores: list[CandidateScore]
) -> tuple[Backtest, list[CandidateScore]]:
    """Add the mean of the two best non-baseline candidates as one more candidate."""
    usable = sorted(
        (s for s in scores if not s.disqualified and s.model != BASELINE), key=_rank_key
    )
    if len(usable) < 2:
        return backtest, scores
    name = f"{usable[0].model}+{usable[1].model}"
    mean_path = (backtest.forecasts[usable[0].model] + backtest.forecasts[usable[1].model]) / 2
    extended = replace(
        backtest,
        forecasts={**backtest.forecasts, name: mean_path},
        blowups={**backtest.blowups, name: 0},
    )
    return extended, [*scores, _score(extended, name, 0, 1.0)]


def _fit_path(
    series: DailySeries, members: tuple[str, ...], horizon: int, country: str
) -> np.ndarray | None:
    paths = []
    for name in members:
        try:
            path = CANDIDATES[name].predict(series, horizon, country)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return None
        if is_absurd(path, series.values):
            return None
        paths.append(path)
    return np.asarray(np.mean(paths, axis=0), dtype=float)


def _baseline_only(
    series: DailySeries, country: str, horizon: int, notes: list[str]
) -> ForecastFit:
    """The honest answer when the history is too short to backtest anything."""
    notes.append(
        f"{len(series)} days of history are too few for a backtest of {MIN_ORIGINS} origins: "
        "serving the weekly seasonal naive forecast"
        + (" (the mean of the days seen, fewer than a week)" if len(series) < 7 else "")
    )
    path = clip_counts(CANDIDATES[BASELINE].predict(series, horizon, country))
    calibration = naive_calibration(series.values, horizon)
    return ForecastFit(
        BASELINE, (BASELINE,), country, series, horizon, path, calibration, (), None, tuple(notes)
    )


def forecast(fit: ForecastFit, days: int) -> list[ForecastDay]:
    """The next ``days`` days after the last day of history, with 80% and 95% intervals."""
    if not 1 <= days <= fit.horizon_max:
        raise ValidationFailed(
            [FieldIssue("/days", "days-out-of-range", f"days must be 1..{fit.horizon_max}")]
        )
    path = fit.path[:days]
    level_now = recent_level(fit.history.values)
    low_80, high_80 = bounds(fit.calibration, path, level_now, 0.8)
    low_95, high_95 = bounds(fit.calibration, path, level_now, 0.95)
    return [
        ForecastDay(
            fit.first_day + timedelta(days=i),
            float(path[i]),
            float(low_80[i]),
            float(high_80[i]),
            float(low_95[i]),
            float(high_95[i]),
        )
        for i in range(days)
    ]


def refit(
    fit: ForecastFit, history: Sequence[tuple[date, float]], *, today: date | None = None
) -> ForecastFit:
    """Refit the selected model on newer history, keeping the selection and the calibration."""
    series = clean_history(history, today=today)
    path = _fit_path(series, fit.members, fit.horizon_max, fit.country)
    notes = list(series.notes)
    members = fit.members
    if path is None:
        notes.append(f"{fit.model} gave a non-finite or absurd forecast: seasonal naive served")
        members = (BASELINE,)
        path = CANDIDATES[BASELINE].predict(series, fit.horizon_max, fit.country)
    return replace(
        fit,
        model="+".join(members),
        members=members,
        history=series,
        path=clip_counts(path),
        notes=tuple(notes),
    )
