"""What one live station holds in memory over hours of the load bench's traffic, in LIMS time.

A ``StationModel`` (the state of a ``StationActor``) keeps the jobs queued and in process, and the
jobs done or gone and their service times for one ``WINDOW`` of LIMS time; it prunes what is older
every ``PRUNE_EVERY``. So its memory grows for the first window and must then stay flat. This
bench feeds one model, in this process and without Ray, the movements ``ils bench load`` makes
(a job arriving at the station for each of the 12 orders a second, queued, in process and done a
second apart), hours of LIMS time in seconds of wall time, and every five minutes of LIMS time
reads what it holds (jobs plus service times), its Python allocations (tracemalloc) and the
process's resident memory (which includes tracemalloc's own records). The figures: the first
window (growth), and after it the slope and the range of the allocations.

Run: ``python -m bench.station_memory [--quick | --hours H]`` (or ``ils bench station_memory``);
last line is JSON.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import os
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psutil

from ils.domain.lims_event import Movement
from ils.domain.station import Station
from ils.services.stations import PRUNE_EVERY, WINDOW, StationModel

#: The load bench's 12 orders/s: its floor moves every job through the first four stations of its
#: route, the same four for every route, so each of them sees every job.
JOBS_PER_S = 12.0
STEPS = ("queued", "in_process", "done")
STEP_GAP_S = 1.0
SAMPLE_EVERY = timedelta(minutes=5)
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def movements(hours: float, rate: float, seed: int) -> Any:
    """The station's movements in LIMS-time order, made as they are needed."""
    rng = np.random.default_rng(seed)
    jobs = int(rate * hours * 3600)
    due: list[tuple[float, int, str, str]] = []
    seq = made = 0
    while made < jobs or due:
        arrival = made / rate
        if made < jobs and (not due or arrival <= due[0][0]):
            job_id = "job_" + rng.bytes(8).hex()
            for k, status in enumerate(STEPS):
                seq += 1
                heapq.heappush(due, (arrival + k * STEP_GAP_S, seq, job_id, status))
            made += 1
            continue
        at, n, job_id, status = heapq.heappop(due)
        yield Movement(Station.EDGING, job_id, status, n, T0 + timedelta(seconds=at))


def run(hours: float, rate: float, seed: int = 1) -> dict[str, Any]:
    me = psutil.Process(os.getpid())
    model = StationModel("lab", Station.EDGING)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rss0 = me.memory_info().rss
    samples: list[dict[str, float]] = []
    next_sample = T0
    fed = 0
    began = time.perf_counter()
    for move in movements(hours, rate, seed):
        model.feed(move)
        fed += 1
        if move.occurred_at >= next_sample:
            gc.collect()
            samples.append({
                "lims_min": (move.occurred_at - T0).total_seconds() / 60.0,
                "held": model.held(),
                "traced_mb": (tracemalloc.get_traced_memory()[0] - base) / 2**20,
                "rss_mb": (me.memory_info().rss - rss0) / 2**20,
            })  # fmt: skip
            next_sample += SAMPLE_EVERY
    wall = time.perf_counter() - began
    tracemalloc.stop()
    return summary(samples, fed, wall)


def summary(samples: list[dict[str, float]], fed: int, wall_s: float) -> dict[str, Any]:
    window_min = WINDOW.total_seconds() / 60.0
    # from one window plus one prune interval on, nothing older than the window is held
    settled_from = window_min + PRUNE_EVERY.total_seconds() / 60.0
    after = [s for s in samples if s["lims_min"] >= settled_from]
    at_window = min(samples, key=lambda s: abs(s["lims_min"] - window_min))
    out: dict[str, Any] = {
        "movements_fed": fed,
        "wall_s": round(wall_s, 1),
        "at_one_window": _rounded(at_window),
    }
    if len(after) >= 3:
        minutes = np.array([s["lims_min"] for s in after])
        traced = np.array([s["traced_mb"] for s in after])
        held = np.array([s["held"] for s in after])
        out["after_the_window"] = {
            "from_lims_min": settled_from,
            "samples": len(after),
            "traced_mb_min": round(float(traced.min()), 2),
            "traced_mb_max": round(float(traced.max()), 2),
            "traced_mb_per_lims_hour": round(float(np.polyfit(minutes, traced, 1)[0]) * 60, 3),
            "held_min": int(held.min()),
            "held_max": int(held.max()),
            "rss_growth_mb": round(after[-1]["rss_mb"] - after[0]["rss_mb"], 1),
            "bytes_per_held": round(float((traced / held).mean()) * 2**20),
        }
    out["series"] = [_rounded(s) for s in samples[:: max(1, len(samples) // 24)]]
    return out


def _rounded(sample: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sample.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two hours of LIMS time")
    parser.add_argument("--hours", type=float, default=4.0, help="hours of LIMS time")
    parser.add_argument("--jobs-per-s", type=float, default=JOBS_PER_S)
    args = parser.parse_args(argv)
    hours = 2.0 if args.quick else args.hours
    figures = run(hours, args.jobs_per_s)
    conditions = {
        "lims_hours": hours,
        "jobs_per_s_at_station": round(args.jobs_per_s, 3),
        "movements_per_job": len(STEPS),
        "window_min": WINDOW.total_seconds() / 60.0,
        "prune_every_min": PRUNE_EVERY.total_seconds() / 60.0,
        "process": "one StationModel in this process, no Ray",
        "quick": args.quick,
    }
    goal = {"after_the_window": "flat: no growth beyond one prune interval's jobs"}
    print(json.dumps({"bench": "station_memory", **figures, "goal": goal,
                      "conditions": conditions}))  # fmt: skip


if __name__ == "__main__":
    main()
