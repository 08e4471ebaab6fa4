"""Demand forecasting for a lab: history cleaning, candidate models, rolling-origin backtest,
selection, calibrated prediction intervals, seasonal patterns and accuracy metrics.

Entry points::

    fit = fit_and_select(history, country="US", today=today)   # select + fit (once a day)
    days = forecast(fit, 14)                                     # serve: slices the stored path
    fit = refit(fit, newer_history)                              # refit without reselecting
    backtest_metrics(fit); seasonal_patterns(history, country="US")
"""

from ils.analytics.forecast.metrics import AccuracyMetrics, ModelMetrics, backtest_metrics
from ils.analytics.forecast.patterns import Effect, SeasonalPatterns, seasonal_patterns
from ils.analytics.forecast.selection import (
    CandidateScore,
    ForecastDay,
    ForecastFit,
    fit_and_select,
    forecast,
    refit,
)

__all__ = [
    "AccuracyMetrics",
    "CandidateScore",
    "Effect",
    "ForecastDay",
    "ForecastFit",
    "ModelMetrics",
    "SeasonalPatterns",
    "backtest_metrics",
    "fit_and_select",
    "forecast",
    "refit",
    "seasonal_patterns",
]
