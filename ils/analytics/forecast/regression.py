"""Calendar regression for daily demand.

log(1 + orders) = trend + weekday + yearly Fourier terms + holiday effects + residual, fitted by
least squares on (at most) the last three years. Residuals of daily demand stay high or low for
weeks (a lost customer, a new one), so the mean residual of the last week is carried into the
forecast and decays at the rate measured from the residuals' week-to-week autocorrelation.

Written on numpy rather than statsmodels' OLS because it is refitted at every backtest origin and a
plain ``lstsq`` on a few dozen columns is several times cheaper; ``patterns.py`` uses statsmodels
where standard errors are needed.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from ils.analytics.forecast.calendar import holiday_flags, weekday_dummies, yearly_fourier
from ils.analytics.forecast.history import DailySeries

TRAIN_DAYS_MAX = 3 * 365
FOURIER_ORDER = 6
MIN_DAYS_FOR_YEARLY = 400
RIDGE = 1e-3


def design(start: date, days: int, country: str, fourier_order: int) -> np.ndarray:
    """Intercept, trend (years), six weekday dummies, yearly Fourier terms, holiday flags."""
    trend = np.arange(days, dtype=float)[:, None] / 365.25
    return np.hstack(
        [
            np.ones((days, 1)),
            trend,
            weekday_dummies(start, days),
            yearly_fourier(start, days, fourier_order),
            holiday_flags(country, start, days),
        ]
    )


def fit_coefficients(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with a tiny ridge so that a column that never varies stays finite."""
    penalty = np.sqrt(RIDGE * len(y)) * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    coef, *_ = np.linalg.lstsq(np.vstack([x, penalty]), np.concatenate([y, np.zeros(len(x.T))]))
    return np.asarray(coef)


def regression_forecast(series: DailySeries, horizon: int, country: str) -> np.ndarray:
    train = series.values[-TRAIN_DAYS_MAX:]
    offset = len(series.values) - len(train)
    start = series.start.fromordinal(series.start.toordinal() + offset)
    order = FOURIER_ORDER if len(train) >= MIN_DAYS_FOR_YEARLY else 0
    x = design(start, len(train) + horizon, country, order)
    log_y = np.log1p(train)
    coef = fit_coefficients(x[: len(train)], log_y)
    residuals = log_y - x[: len(train)] @ coef
    carry = _residual_carry(residuals, horizon)
    smear = float(np.mean(np.exp(residuals[-365:] - residuals[-365:].mean())))
    path = x[len(train) :] @ coef + carry + residuals[-365:].mean()
    return np.asarray(np.expm1(path) * smear + (smear - 1.0), dtype=float)


def _residual_carry(residuals: np.ndarray, horizon: int) -> np.ndarray:
    weeks = len(residuals) // 7
    if weeks < 4:
        return np.zeros(horizon)
    weekly = residuals[-weeks * 7 :].reshape(weeks, 7).mean(axis=1)
    centred = weekly - weekly.mean()
    denominator = float(centred @ centred)
    phi_week = float(centred[1:] @ centred[:-1]) / denominator if denominator > 0 else 0.0
    decay = float(np.clip(phi_week, 0.0, 0.98)) ** (1.0 / 7.0)
    level = float(residuals[-7:].mean() - residuals.mean())
    return level * decay ** np.arange(1, horizon + 1)
