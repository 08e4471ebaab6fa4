"""The fitted demand model of each lab: what is cached, when it is refitted, and how a request
is answered without ever waiting for a fit.

A lab's model is a ``FittedLab``: the selected and fitted forecast (``fit_and_select``), its
seasonal patterns, and the ``fingerprint`` of the history it was fitted on. ``LabForecast`` holds
one lab's cache and decides, per request:

- the fingerprint matches: serve the cached fit (``current``); if it is older than
  ``REFIT_AFTER`` a scheduled refit starts in the background;
- only live days were added since the fit (same imported history and country): serve the cached
  fit, shifted to the request's first day (``refitting``), while a refit runs;
- otherwise (first request, new import, new country): serve a seasonal-naive fit computed at once
  (milliseconds; ``provisional``) while the full selection runs.

A refit keeps the selected model (``refit``) unless the selection is older than
``RESELECT_AFTER`` or a reselection was asked for; then every candidate is backtested again.
The owners (``InProcessForecaster`` here, the ``ForecastModel`` Ray actor in ``actors/``) run
``fit_lab`` off the request path: a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

from ils.analytics.forecast import (
    ForecastFit,
    SeasonalPatterns,
    fit_and_select,
    refit,
    seasonal_patterns,
)

log = logging.getLogger(__name__)

HORIZON_MAX = 30
REFIT_AFTER = timedelta(hours=6)
RESELECT_AFTER = timedelta(days=7)
BASELINE = "seasonal_naive"

Status = Literal["current", "refitting", "provisional"]


@dataclass(frozen=True)
class FitRequest:
    """What a lab's model is fitted on. ``basis`` changes with the imported history or the
    country (a fit on another basis is never served); ``fingerprint`` with any input."""

    lab_id: str
    rows: tuple[tuple[date, float], ...]
    country: str
    today: date
    basis: str
    fingerprint: str
    now: datetime
    reselect: bool = False

    @property
    def first_day(self) -> date:
        return max(d for d, _ in self.rows) + timedelta(days=1)


@dataclass(frozen=True)
class FittedLab:
    fit: ForecastFit
    patterns: SeasonalPatterns | None
    basis: str
    fingerprint: str
    fitted_at: datetime
    selected_at: datetime
    fit_seconds: float


@dataclass(frozen=True)
class ServedModel:
    """A fit to answer from; ``lag_days`` is how many days its first day precedes the request's."""

    fitted: FittedLab
    status: Status
    detail: str
    lag_days: int = 0


def fit_lab(request: FitRequest, previous: FittedLab | None) -> FittedLab:
    """Select (or refit) the lab's model and its seasonal patterns. CPU-bound: run it off-path."""
    started = time.perf_counter()
    rows = list(request.rows)
    keep_selection = (
        previous is not None
        and previous.basis == request.basis
        and not request.reselect
        and request.now - previous.selected_at < RESELECT_AFTER
    )
    if previous is not None and keep_selection:
        fit = refit(previous.fit, rows, today=request.today)
        selected_at = previous.selected_at
    else:
        fit = fit_and_select(
            rows, country=request.country, horizon_max=HORIZON_MAX, today=request.today
        )
        selected_at = request.now
    patterns = seasonal_patterns(rows, country=request.country)
    return FittedLab(
        fit, patterns, request.basis, request.fingerprint, request.now, selected_at,
        time.perf_counter() - started,
    )  # fmt: skip


def quick_fit(request: FitRequest) -> FittedLab:
    """The seasonal-naive model with its own backtest: milliseconds, so a request may wait."""
    started = time.perf_counter()
    fit = fit_and_select(
        list(request.rows),
        country=request.country,
        horizon_max=HORIZON_MAX,
        today=request.today,
        candidates=[BASELINE],
    )
    return FittedLab(
        fit, None, request.basis, request.fingerprint, request.now, request.now,
        time.perf_counter() - started,
    )  # fmt: skip


class LabForecast:
    """One lab's cache and its refit decisions; the owner runs the fits it asks for."""

    def __init__(self) -> None:
        self.fitted: FittedLab | None = None
        self.running: str | None = None
        self.failed: tuple[str, str] | None = None  # (fingerprint, reason)

    def answer(self, request: FitRequest) -> tuple[ServedModel, bool]:
        """The model to answer ``request`` from, and whether a fit must start now."""
        fitted = self.fitted
        if fitted is not None and fitted.fingerprint == request.fingerprint:
            due = request.reselect or request.now - fitted.fitted_at >= REFIT_AFTER
            start = due and self._may_start(request)
            detail = "selected and fitted on this history"
            if start or (due and self.running):
                detail += "; a scheduled refit is running"
            return ServedModel(fitted, "current", detail), start
        start = self._may_start(request)
        if fitted is not None and fitted.basis == request.basis:
            lag = (request.first_day - fitted.fit.first_day).days
            if 0 < lag < fitted.fit.horizon_max:
                detail = (
                    f"fitted on history through {fitted.fit.history.end.isoformat()}; "
                    "refitting on the newer days"
                )
                return ServedModel(fitted, "refitting", detail, lag), start
        return self._provisional(request), start

    def _provisional(self, request: FitRequest) -> ServedModel:
        if self.failed is not None and self.failed[0] == request.fingerprint:
            detail = f"model selection failed ({self.failed[1]}): seasonal naive served"
        else:
            detail = "model selection is running on this history: seasonal naive served until then"
        return ServedModel(quick_fit(request), "provisional", detail)

    def _may_start(self, request: FitRequest) -> bool:
        if self.running is not None:
            return False
        return self.failed is None or self.failed[0] != request.fingerprint

    def started(self, request: FitRequest) -> None:
        self.running = request.fingerprint

    def finished(self, fitted: FittedLab) -> None:
        self.fitted, self.running, self.failed = fitted, None, None

    def crashed(self, request: FitRequest, reason: str) -> None:
        self.running, self.failed = None, (request.fingerprint, reason)


def failure_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class Forecaster(Protocol):
    """Where labs' fitted models live (a Ray actor per lab, or this process)."""

    async def serve(self, request: FitRequest) -> ServedModel: ...


class InProcessForecaster:
    """The default: each lab's cache in this process, fits on worker threads (asyncio tasks)."""

    def __init__(self) -> None:
        self._labs: dict[str, LabForecast] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def serve(self, request: FitRequest) -> ServedModel:
        lab = self._labs.setdefault(request.lab_id, LabForecast())
        served, start = lab.answer(request)
        if start:
            lab.started(request)
            self._tasks[request.lab_id] = asyncio.create_task(self._fit(lab, request))
        return served

    async def _fit(self, lab: LabForecast, request: FitRequest) -> None:
        try:
            fitted = await asyncio.to_thread(fit_lab, request, lab.fitted)
        except Exception as exc:
            log.warning("forecast fit of lab %s failed", request.lab_id, exc_info=True)
            lab.crashed(request, failure_reason(exc))
            return
        lab.finished(fitted)

    async def settle(self) -> None:
        """Wait for every running fit (tests, shutdown)."""
        while running := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)
