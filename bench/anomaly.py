"""Benchmark: anomaly detectors on synthetic streams with injected anomalies of each kind.

For each kind (equipment, process, quality, volume) the bench builds clean streams, injects
anomaly ranges with known positions, runs the ILS detector and a robust z-score baseline (the
distance of each point from the whole series' median in MAD units, 1.4826 x MAD; flagged at
|z| >= 3.5, Iglewicz and Hoaglin's cut-off) and reports, for both:

- ``pr_auc``: ``sklearn.metrics.average_precision_score`` of the per-point scores against the
  per-point labels (a point is anomalous when it lies inside an injected range);
- ``range_recall``: range-based recall with the existence reward only (Tatbul et al., "Precision
  and Recall for Time Series", NeurIPS 2018, alpha = 1): the share of injected ranges with at least
  one flagged point, at the detector's own operating rule;
- ``point_precision``: the share of flagged points that are inside an injected range.

Process and quality run the live detectors of ``ils.analytics.anomaly.line`` (the ones the lab's
model runs on its closed hours): ``chart`` for the hourly station series, ``LineWatch`` for
breakage bursts and inspected fields' hourly mean errors. Volume uses a stand-in forecast (mean
of the same weekday over the last 4 weeks, 95% interval from
the last 8 weeks' residuals), because this bench measures the detector, not the forecaster.

It also reports telemetry received -> alert on the WebSocket latency at 1,000 readings/s
(``bench.alert_latency``: the API, the real-time gateway and PostgreSQL on this machine; skip it
with ``--no-latency``).

Run: ``python -m bench.anomaly [--quick] [--no-latency]``. Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy.stats import binom
from sklearn.metrics import average_precision_score

from ils.analytics.anomaly.equipment import MachineState, observe_machine
from ils.analytics.anomaly.line import (
    QUEUE_RULES,
    RULES,
    RUN,
    SIGMA_FLOOR,
    LineParams,
    LineWatch,
    Period,
    breakage_rates,
    chart,
)
from ils.analytics.anomaly.volume import volume_finding
from ils.sim.telemetry import KINDS, DegradationParams, Machine, TelemetryGenerator

Z_CUT = 3.5
DAY = 86400.0


@dataclass
class Stream:
    """Per-point labels, scores and flags of both detectors, plus the injected ranges."""

    labels: np.ndarray
    ranges: list[tuple[int, int]]  # [start, end) indices into the stream
    ils_score: np.ndarray
    ils_flag: np.ndarray
    base_score: np.ndarray
    base_flag: np.ndarray


def robust_z(x: np.ndarray) -> np.ndarray:
    med = np.median(x, axis=0)
    mad = np.maximum(1.4826 * np.median(np.abs(x - med), axis=0), 1e-9)
    return np.asarray(np.abs(x - med) / mad)


def inject_ranges(
    n: int, count: int, lengths: tuple[int, int], rng: np.random.Generator, start: int
) -> list[tuple[int, int]]:
    """Non-overlapping ranges after ``start``, at least one range length apart."""
    out: list[tuple[int, int]] = []
    for _ in range(count * 20):
        if len(out) == count:
            break
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        a = int(rng.integers(start, n - length))
        if all(a + 2 * length < s or a > e + length for s, e in out):
            out.append((a, a + length))
    return sorted(out)


def labels_of(n: int, ranges: list[tuple[int, int]]) -> np.ndarray:
    lab = np.zeros(n, dtype=bool)
    for a, b in ranges:
        lab[a:b] = True
    return lab


def equipment_streams(machines: int, days: int, rng: np.random.Generator) -> dict[str, Stream]:
    quiet = DegradationParams(gradual_rate=0, sudden_rate=0, drift_rate=0, spike_prob=0)
    fleet = [Machine(f"m{i:02d}", KINDS[i % len(KINDS)]) for i in range(machines)]
    start = datetime(2026, 3, 2, tzinfo=UTC)
    gen = TelemetryGenerator(fleet, rng, quiet)
    frames = gen.frames_between(start, start + timedelta(days=days), timedelta(minutes=10)).frames
    by_type: dict[str, list[Stream]] = {}
    for i, f in enumerate(frames):
        # every injection type on one machine of each kind
        kind = ("spike", "level_shift", "variance_burst", "joint_shift")[(i // len(KINDS)) % 4]
        values, ranges = _inject_equipment(f.values, kind, rng)
        ils_score, ils_flag = _run_machine(f.equipment_id, f.metrics, f.times, values)
        z = robust_z(values).max(axis=1)
        by_type.setdefault(kind, []).append(
            Stream(labels_of(len(values), ranges), ranges, ils_score, ils_flag, z, z >= Z_CUT)
        )
    return {k: _concat(v) for k, v in by_type.items()}


def _inject_equipment(
    values: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    v = values.copy()
    sd = np.std(np.diff(values, axis=0), axis=0) / np.sqrt(2)
    lengths = {
        "spike": (1, 1),
        "level_shift": (18, 48),
        "variance_burst": (12, 24),
        "joint_shift": (12, 36),
    }[kind]
    ranges = inject_ranges(len(v), 6, lengths, rng, start=3 * 144)
    for a, b in ranges:
        j = int(rng.integers(v.shape[1]))
        sign = float(rng.choice([-1.0, 1.0]))
        if kind == "spike":
            v[a, j] += sign * 8.0 * sd[j]
        elif kind == "level_shift":
            v[a:b, j] += sign * 3.0 * sd[j]
        elif kind == "variance_burst":
            v[a:b, j] += 3.0 * sd[j] * rng.standard_normal(b - a)
        else:
            v[a:b] += 1.5 * sd
    return v, ranges


def _run_machine(
    eid: str, metrics: tuple[str, ...], times: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    state = MachineState.empty(eid, metrics)
    score = np.zeros(len(times))
    flag = np.zeros(len(times), dtype=bool)
    for i, (t, row) in enumerate(zip(times, values, strict=True)):
        reading = dict(zip(metrics, row.tolist(), strict=True))
        state, s = observe_machine(state, float(t), reading)
        score[i] = max([*s.per_metric.values(), s.joint or 0.0])
        flag[i] = bool(s.findings)
    return score, flag


def process_streams(stations: int, rng: np.random.Generator) -> Stream:
    """Hourly station series as the live line charts them (``line.chart``: rolling baseline of
    48 hours, I-MR limits): even stations as cycle times (rules 1, 2), odd ones as queue lengths
    (rules 1, 2, 3, sigma at least one job). The score is |z| against the limits."""
    parts = []
    for station in range(stations):
        n = 24 * 30
        x = 30.0 + 2.0 * rng.standard_normal(n)
        ranges = inject_ranges(n, 4, (8, 24), rng, start=24 * 7)
        for k, (a, b) in enumerate(ranges):
            if k % 2:
                x[a:b] += 2.5 + np.zeros(b - a)  # shift of 1.25 sigma
            else:
                x[a:b] += np.linspace(1.0, 8.0, b - a)  # queue-style growth
        queue = station % 2 == 1
        rules = QUEUE_RULES if queue else RULES
        floor = SIGMA_FLOOR["queue_length"] if queue else 0.0
        history: deque[tuple[float, bool]] = deque(maxlen=LineParams().keep + RUN)
        score, flag = np.zeros(n), np.zeros(n, dtype=bool)
        for t in range(n):
            found, z = chart(history, "process", "s", float(x[t]), float(t), rules, floor)
            score[t], flag[t] = abs(z) if z is not None else 0.0, bool(found)
        z = robust_z(x)
        parts.append(Stream(labels_of(n, ranges), ranges, score, flag, z, z >= Z_CUT))
    return _concat(parts)


def quality_streams(groups: int, days: int, rng: np.random.Generator) -> Stream:
    """Daily breakage counts of ``groups`` (station, reason) groups of one lab, through the live
    detector (``LineWatch.quality_findings``: rates over the last 48 periods, binomial test at
    0.01 over the groups). The score is -log10 of the same test's p-value."""
    rates = rng.uniform(0.005, 0.03, groups)
    jobs = rng.poisson(400, days)
    counts = rng.binomial(jobs[:, None], rates[None, :])
    keys = [(f"s{g}", "r") for g in range(groups)]
    all_ranges: list[list[tuple[int, int]]] = []
    for g in range(groups):
        ranges = inject_ranges(days, 3, (1, 3), rng, start=30)
        for a, b in ranges:
            counts[a:b, g] = rng.binomial(jobs[a:b], min(rates[g] * 2.5, 1.0))
        all_ranges.append(ranges)
    watch = LineWatch(LineParams(period_s=DAY))
    score, flag = np.zeros((days, groups)), np.zeros((days, groups), dtype=bool)
    for d in range(days):
        today = {keys[g]: int(counts[d, g]) for g in range(groups)}
        base = breakage_rates(watch.breakages, keys) if watch.breakages else {}
        period = Period(d * DAY, (d + 1) * DAY, {}, int(jobs[d]))
        fired = {f.subject for f in watch.quality_findings(period, today, [])}
        for g, key in enumerate(keys):
            if key in base:
                p = _binomial_p(today[key], int(jobs[d]), base[key])
                score[d, g] = -np.log10(max(p, 1e-300))
            flag[d, g] = f"breakage:{key[0]}:{key[1]}" in fired
    parts = []
    for g in range(groups):
        z = robust_z(counts[:, g].astype(float))
        ranges = all_ranges[g]
        parts.append(
            Stream(labels_of(days, ranges), ranges, score[:, g], flag[:, g], z, z >= Z_CUT)
        )
    return _concat(parts)


def inspection_streams(fields: int, hours: int, rng: np.random.Generator) -> Stream:
    """Hourly inspections (20 an hour, error N(0, 0.03) D) of ``fields`` inspected fields, through
    the live detector (``LineWatch.quality_findings``: each field's hourly mean error charted);
    injected: a drift of the field's error by 0.5 sigma (0.015 D, under any single-lens tolerance)
    for 4-12 hours. The robust z baseline is taken over the hourly means."""
    watch = LineWatch(LineParams())
    names = [f"/od/f{k}" for k in range(fields)]
    ranges = {name: inject_ranges(hours, 4, (4, 12), rng, start=24 * 3) for name in names}
    means = np.zeros((hours, fields))
    score, flag = np.zeros((hours, fields)), np.zeros((hours, fields), dtype=bool)
    for h in range(hours):
        errors = []
        for k, name in enumerate(names):
            shift = 0.015 if any(a <= h < b for a, b in ranges[name]) else 0.0
            e = shift + 0.03 * rng.standard_normal(20)
            means[h, k] = e.mean()
            errors += [(h * 3600.0 + i, name, float(v)) for i, v in enumerate(e)]
        period = Period(h * 3600.0, (h + 1) * 3600.0, {}, 20)
        found = watch.quality_findings(period, {}, errors)
        fired = {f.subject for f in found}
        for k, name in enumerate(names):
            z = watch.last_z.get(("quality", f"inspection:{name}"))
            score[h, k] = abs(z) if z is not None else 0.0
            flag[h, k] = f"inspection:{name}" in fired
    parts = []
    for k, name in enumerate(names):
        z = robust_z(means[:, k])
        r = ranges[name]
        parts.append(Stream(labels_of(hours, r), r, score[:, k], flag[:, k], z, z >= Z_CUT))
    return _concat(parts)


def _binomial_p(k: int, n: int, p0: float) -> float:
    return float(binom.sf(k - 1, n, max(p0, 1e-6)))


def volume_streams(series: int, days: int, rng: np.random.Generator) -> Stream:
    parts = []
    for _ in range(series):
        d = np.arange(days)
        weekly = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.45, 0.3])[d % 7]
        mean = 300.0 * weekly * (1 + 0.1 * np.sin(2 * np.pi * d / 365.0))
        x = rng.negative_binomial(60, 60 / (60 + mean)).astype(float)
        ranges = inject_ranges(days, 5, (1, 4), rng, start=70)
        for a, b in ranges:
            x[a:b] *= float(rng.choice([0.55, 1.45]))
        score, flag = np.zeros(days), np.zeros(days, dtype=bool)
        for t in range(56, days):
            fc, lo, hi = _stand_in_forecast(x[:t], t)
            found = volume_finding(float(t), float(x[t]), fc, lo, hi)
            score[t] = abs(x[t] - fc) / max((hi - lo) / 2.0, 1e-9)
            flag[t] = found is not None
        z = robust_z(x)
        parts.append(Stream(labels_of(days, ranges), ranges, score, flag, z, z >= Z_CUT))
    return _concat(parts)


def _stand_in_forecast(history: np.ndarray, t: int) -> tuple[float, float, float]:
    same = history[t - 28 : t : 7]
    fc = float(np.median(same))
    resid = [history[s] - np.median(history[s - 28 : s : 7]) for s in range(t - 56 + 28, t)]
    sd = float(1.4826 * np.median(np.abs(resid)))
    return fc, fc - 1.96 * sd, fc + 1.96 * sd


def _concat(parts: list[Stream]) -> Stream:
    ranges: list[tuple[int, int]] = []
    offset = 0
    for p in parts:
        ranges += [(a + offset, b + offset) for a, b in p.ranges]
        offset += len(p.labels)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    return Stream(
        cat("labels"),
        ranges,
        cat("ils_score"),
        cat("ils_flag"),
        cat("base_score"),
        cat("base_flag"),
    )


def figures(s: Stream) -> dict[str, Any]:
    def one(score: np.ndarray, flag: np.ndarray) -> dict[str, Any]:
        hit = [bool(flag[a:b].any()) for a, b in s.ranges]
        return {
            "pr_auc": round(float(average_precision_score(s.labels, score)), 3),
            "range_recall": round(float(np.mean(hit)), 3) if hit else None,
            "point_precision": round(float(s.labels[flag].mean()), 3) if flag.any() else None,
            "flagged_points": int(flag.sum()),
        }

    return {
        "ranges": len(s.ranges),
        "points": len(s.labels),
        "ils": one(s.ils_score, s.ils_flag),
        "robust_z_baseline": one(s.base_score, s.base_flag),
    }


def run(quick: bool, seed: int) -> dict[str, Any]:
    machines, days = (8, 14) if quick else (16, 28)
    rng = np.random.default_rng(seed)
    clock = time.perf_counter()
    equipment = equipment_streams(machines, days, rng)
    per_s = machines * days * 144 / (time.perf_counter() - clock)
    process = process_streams(10, rng)
    breakages, inspections = quality_streams(12, 180, rng), inspection_streams(6, 720, rng)
    by_kind = {
        "equipment": figures(_concat(list(equipment.values()))),
        "process": figures(process),
        "quality": figures(_concat([breakages, inspections])),
        "volume": figures(volume_streams(6, 365, rng)),
    }
    return {
        "bench": "anomaly",
        "kinds": by_kind,
        "equipment_by_injection": {k: figures(v) for k, v in equipment.items()},
        "quality_by_source": {
            "breakage_spikes": figures(breakages),
            "inspection_drift": figures(inspections),
        },
        "definitions": {
            "pr_auc": "sklearn average_precision_score over points",
            "range_recall": "Tatbul et al. 2018 existence reward (alpha=1)",
            "baseline": f"robust z = |x - median| / (1.4826 MAD) over the whole series, >= {Z_CUT}",
        },
        "conditions": {
            "cores": os.cpu_count(),
            "seed": seed,
            "machines": machines,
            "equipment_days": days,
            "equipment_step_min": 10,
            "process_stations": 10,
            "process_hours": 720,
            "quality_groups": 12,
            "quality_days": 180,
            "inspection_fields": 6,
            "inspection_hours": 720,
            "inspections_per_hour": 20,
            "volume_series": 6,
            "volume_days": 365,
            "equipment_readings_per_s": round(per_s),
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--no-latency", action="store_true", help="skip the alert latency run (needs PostgreSQL)"
    )
    args = ap.parse_args(argv)
    result = run(args.quick, args.seed)
    if not args.no_latency:
        from bench.alert_latency import measure

        result["alert_latency_at_1000_readings_per_s"] = measure(args.quick)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
