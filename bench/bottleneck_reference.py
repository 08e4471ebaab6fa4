"""Reference for ``ils bench bottleneck`` detection: how well the station snapshots can name a
planted constraint when the detector is *told* when the plant happened and which stations it
changed. Not a detector (it reads the answer's timing from the scenario); it bounds what a
detector with perfect change-point knowledge reaches with the same snapshots and scoring.

Each station's load is the work that reached it over its staffed capacity, ((busy server-minutes
+ change in jobs at the station x measured mean service) / staffed server-minutes), over the
minutes since the last plant that changed it (staff, service factor, or its visit share), and
over the whole look-back otherwise. Same scenarios, seeds, 15-minute limit and top-1 scoring as
bench/bottleneck.py.

Run: ``.venv/bin/python -m bench.bottleneck_reference [--reps N]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from bench.bottleneck import LIMIT, PLANT, STEP, Scenario, scenarios
from ils.analytics.bottleneck.trace import StationTrace
from ils.analytics.bottleneck.twin import RunSpec, simulate

LOOKBACK = 240.0


def changed_stations(sc: Scenario) -> list[tuple[float, set[str]]]:
    """(minute, stations the plant changed) for every plant of the scenario."""
    out = []
    state = sc.start
    for ch in sc.changes:
        names = set(ch.staff) | set(ch.service_factor)
        if ch.routes is not None:
            before = state.visit_shares()
            after = type(state)(state.stations, state.arrival_rate, ch.routes).visit_shares()
            names |= {n for n in before if abs(after[n] - before[n]) > 0.01}
            state = type(state)(state.stations, state.arrival_rate, ch.routes)
        out.append((ch.at, names))
    return out


def loads(trace: StationTrace, now: float, plants: list[tuple[float, set[str]]]) -> np.ndarray:
    w = trace.window(now - LOOKBACK, now)
    assert w.arrived is not None and w.service_mean is not None
    dt = np.diff(w.times)[:, None]
    cum_busy = np.vstack([np.zeros((1, w.busy.shape[1])), np.cumsum(w.busy[:-1] * dt, axis=0)])
    cum_cap = np.vstack([np.zeros((1, w.busy.shape[1])), np.cumsum(w.capacity[:-1] * dt, axis=0)])
    jobs = (w.queue + w.busy).astype(float)
    departed = (w.arrived[-1] - w.arrived[0]) - (jobs[-1] - jobs[0])
    service = np.where(
        departed > 5, cum_busy[-1] / np.maximum(departed, 1), np.maximum(w.service_mean[-1], 1e-3)
    )
    out = np.zeros(len(w.stations))
    for j, name in enumerate(w.stations):
        since = max([at for at, names in plants if at <= now and name in names], default=None)
        a = 0 if since is None else int(np.searchsorted(w.times, since))
        a = min(a, len(w) - 2)
        cap = cum_cap[-1, j] - cum_cap[a, j]
        work = cum_busy[-1, j] - cum_busy[a, j] + (jobs[-1, j] - jobs[a, j]) * service[j]
        out[j] = work / cap if cap > 0 else (np.inf if work > 0 else 0.0)
    return out


def run(sc: Scenario, seed: int) -> list[dict[str, Any]]:
    trace = simulate(sc.start, RunSpec(sc.horizon, sample_every=0.5, changes=sc.changes), seed)
    plants = changed_stations(sc)
    series = [
        (float(t), trace.trace.stations[int(np.argmax(loads(trace.trace, float(t), plants)))])
        for t in np.arange(PLANT, sc.horizon + 1e-9, STEP)
    ]
    out = []
    for i, (at, truth) in enumerate(sc.truth):
        end = sc.truth[i + 1][0] if i + 1 < len(sc.truth) else sc.horizon + 1
        hit = next((t - at for t, s in series if at <= t < end and s == truth), None)
        settled = [s == truth for t, s in series if at + LIMIT <= t < end]
        out.append({"detected": hit is not None and hit <= LIMIT, "top1": float(np.mean(settled))})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, help="replications per scenario (25; quick 5)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--quick", action="store_true", help="5 replications per scenario")
    args = parser.parse_args(argv)
    args.reps = args.reps or (5 if args.quick else 25)
    started = time.perf_counter()
    result: dict[str, Any] = {"bench": "bottleneck_reference", "scenarios": {}}
    detected: list[bool] = []
    top1: list[float] = []
    for sc in (sc for sc in scenarios() if sc.detection):
        runs = [run(sc, args.seed + r) for r in range(args.reps)]
        phases = []
        for p, (at, truth) in enumerate(sc.truth):
            planted = any(ch.at == at for ch in sc.changes)
            hits = [r[p]["detected"] for r in runs]
            tops = [r[p]["top1"] for r in runs]
            if planted:
                detected += hits
                top1 += tops
            phases.append(
                {
                    "from_min": at,
                    "truth": truth,
                    "planted": planted,
                    "detected_within_15min_rate": round(float(np.mean(hits)), 3),
                    "top1_rate_after_15min": round(float(np.mean(tops)), 3),
                }
            )
        result["scenarios"][sc.name] = phases
    result["detected_within_15min_rate"] = round(float(np.mean(detected)), 3)
    result["top1_rate_after_15min"] = round(float(np.mean(top1)), 3)
    result["conditions"] = {
        "cores": os.cpu_count(),
        "replications": args.reps,
        "seed": args.seed,
        "lookback_min": LOOKBACK,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
