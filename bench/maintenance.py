"""Benchmark: 48-hour failure prediction on the degradation generator, held out by machine.

A simulated lab (``ils.sim.telemetry``: gradual failures, sudden failures, harmless sensor drift,
maintenance, shift seasonality; 10-minute readings) is split by machine into ``--folds`` groups.
Each group is scored by a model trained on the other machines (its threshold chosen there for the
false-alarm budget), beside a static-threshold baseline tuned to the same budget on the same
machines. Event-based scoring (``ils.analytics.failure.scoring``): an alarm counts only 2-48 h
before a failure; false-alarm episodes are counted per machine-month.

Run: ``python -m bench.maintenance [--quick]``. Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ils.analytics.failure.baseline import choose_multiplier, hourly_machine, static_alarms
from ils.analytics.failure.dataset import (
    Dataset,
    EquipmentEvent,
    build_dataset,
    hours_to_next_failure,
)
from ils.analytics.failure.features import MachineSeries
from ils.analytics.failure.model import (
    FailureModel,
    TrainingParams,
    machine_folds,
    train_failure_model,
)
from ils.analytics.failure.scoring import (
    AlarmScore,
    MachineAlarms,
    ScoringWindow,
    false_episodes,
    score_alarms,
)
from ils.sim.telemetry import KINDS, DegradationParams, Machine, TelemetryGenerator

START = datetime(2026, 1, 1, tzinfo=UTC)


def simulate(
    machines: int, days: int, seed: int, params: DegradationParams
) -> tuple[
    list[MachineSeries], list[EquipmentEvent], list[dict[str, Any]], int, list[dict[str, Any]]
]:
    fleet = [Machine(f"m{i:03d}", KINDS[i % len(KINDS)]) for i in range(machines)]
    gen = TelemetryGenerator(fleet, np.random.default_rng(seed), params)
    window = gen.frames_between(START, START + timedelta(days=days), timedelta(minutes=10))
    series = [MachineSeries(f.equipment_id, f.metrics, f.times, f.values) for f in window.frames]
    events = [
        EquipmentEvent(e["equipment_id"], e["type"], e["at"].timestamp()) for e in window.events
    ]
    readings = sum(f.times.size for f in window.frames)
    return series, events, window.events, readings, window.drifts


def evaluate(
    data: Dataset, series: list[MachineSeries], folds: int, seed: int, params: TrainingParams
) -> tuple[list[MachineAlarms], list[MachineAlarms], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    ids = [m.equipment_id for m in data.machines]
    hourly = {
        s.equipment_id: hourly_machine(s, m.failures)
        for s, m in zip(series, data.machines, strict=True)
    }
    model_alarms: list[MachineAlarms] = []
    static: list[MachineAlarms] = []
    fold_info = []
    for held in machine_folds(ids, folds, rng):
        t0 = time.perf_counter()
        model = train_failure_model(data.select(set(ids) - held), rng, params)
        train_s = time.perf_counter() - t0
        k = choose_multiplier([hourly[i] for i in ids if i not in held], params.false_alarm_budget)
        errors: list[np.ndarray] = []
        for m in data.machines:
            if m.equipment_id in held:
                alarm = model.smoothed(m.frame.x) >= model.threshold
                model_alarms.append(
                    MachineAlarms(m.equipment_id, m.frame.times, alarm, m.failures, m.observed_s)
                )
                errors.append(lead_errors(model, m.frame.x, m.frame.times, alarm, m.failures))
        static += static_alarms([hourly[i] for i in held], k)
        err = np.abs(np.concatenate(errors)) if errors else np.empty(0)
        fold_info.append(
            {
                "train_s": round(train_s, 2),
                "threshold": round(model.threshold, 4),
                "static_k": k,
                "lead_estimate_mae_h": _r(float(err.mean())) if err.size else None,
            }
        )
    return model_alarms, static, fold_info


def lead_errors(
    model: FailureModel, x: np.ndarray, times: np.ndarray, alarm: np.ndarray, failures: Any
) -> np.ndarray:
    """expected_failure_within_h minus the true hours left, on alarms within 48 h of a failure."""
    left = hours_to_next_failure(times, failures)
    use = alarm & (left < model.horizon_h)
    if model.lead_regressor is None or not use.any():
        return np.empty(0)
    est = np.clip(model.lead_regressor.predict(x[use]), 0.0, model.horizon_h)
    return np.asarray(est - left[use])


def drift_spans(
    drifts: list[dict[str, Any]], raw_events: list[dict[str, Any]]
) -> dict[str, list[tuple[float, float]]]:
    """Per machine, the spans during which a harmless sensor drift is active (until a reset)."""
    resets: dict[str, list[float]] = {}
    for e in raw_events:
        if e["type"] in ("maintenance", "repair"):
            resets.setdefault(e["equipment_id"], []).append(e["at"].timestamp())
    spans: dict[str, list[tuple[float, float]]] = {}
    for d in drifts:
        start = d["start"].timestamp()
        later = [r for r in resets.get(d["equipment_id"], []) if r > start]
        spans.setdefault(d["equipment_id"], []).append((start, min(later, default=np.inf)))
    return spans


def false_alarms_in_drift(
    alarms: list[MachineAlarms], spans: dict[str, list[tuple[float, float]]]
) -> int:
    """False-alarm episodes that start while a harmless drift is active."""
    count = 0
    for m in alarms:
        for ep in false_episodes(m, ScoringWindow()):
            count += any(a <= ep[0] < b for a, b in spans.get(m.equipment_id, []))
    return count


def summary(
    score: AlarmScore, gradual: set[tuple[str, float]], sudden: set[tuple[str, float]]
) -> dict[str, Any]:
    return {
        "recall_gradual": _r(score.recall(gradual)),
        "recall_sudden": _r(score.recall(sudden)),
        "false_alarm_episodes_per_machine_month": _r(score.false_per_machine_month),
        "false_alarm_episodes": score.false_episodes,
        "median_lead_time_h_gradual": _r(score.median_lead_h(gradual)),
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--machines", type=int, default=40)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--budget", type=float, default=1.0)
    args = ap.parse_args(argv)
    if args.quick:
        args.machines, args.days = 16, 90
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    gen_params = DegradationParams()
    params = TrainingParams(false_alarm_budget=args.budget)
    clock = time.perf_counter()
    series, events, raw_events, readings, drifts = simulate(
        args.machines, args.days, args.seed, gen_params
    )
    timings = {"simulate": time.perf_counter() - clock}
    clock = time.perf_counter()
    data = build_dataset(series, events)
    timings["features"] = time.perf_counter() - clock
    clock = time.perf_counter()
    train_failure_model(data, np.random.default_rng(args.seed), params)
    timings["train_full_lab"] = time.perf_counter() - clock
    model_alarms, static, folds = evaluate(data, series, args.folds, args.seed + 1, params)
    fails = [e for e in raw_events if e["type"] == "failure"]
    gradual = {(e["equipment_id"], e["at"].timestamp()) for e in fails if e["cause"] == "gradual"}
    sudden = {(e["equipment_id"], e["at"].timestamp()) for e in fails if e["cause"] == "sudden"}
    spans = drift_spans(drifts, raw_events)
    figures = {
        name: {
            **summary(score_alarms(alarms), gradual, sudden),
            "false_alarm_episodes_during_harmless_drift": false_alarms_in_drift(alarms, spans),
        }
        for name, alarms in (("model", model_alarms), ("static_threshold_baseline", static))
    }
    conditions = {
        **_conditions(args, gen_params),
        "readings": readings,
        "gradual_failures": len(gradual),
        "sudden_failures": len(sudden),
        "harmless_drifts": len(drifts),
    }
    return {
        "bench": "maintenance",
        **figures,
        "goal": {
            "recall_gradual": ">=0.9",
            "false_alarm_per_machine_month": "<=1",
            "median_lead_time_h": ">=24",
        },
        "conditions": conditions,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "folds": folds,
    }


def _conditions(args: argparse.Namespace, gen_params: DegradationParams) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "machines": args.machines,
        "days": args.days,
        "step_min": 10,
        "seed": args.seed,
        "folds": args.folds,
        "budget_false_alarms_per_machine_month": args.budget,
        "generator": gen_params.__dict__,
        "scoring": "alarm counts only 2-48 h before a failure; episodes merge within 6 h",
    }


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(run(parse(argv))))


if __name__ == "__main__":
    main()
