"""Throughput of the pure quality core: inspection, Nelson rules, KPIs, cost and rollups.

Run: ``python -m bench.quality [--quick]``. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from ils.analytics.cost import CostBook, order_costs
from ils.analytics.kpi import Breakage, JobOutcome, Period, production_kpis
from ils.analytics.rollup import RollupState, apply, recompute
from ils.analytics.spc import imr_limits, nelson_violations
from ils.domain.inspection import EyePowers, PrismImbalance, final_inspection

SEED = 20261125
START = datetime(2026, 1, 1, tzinfo=UTC)
STATIONS = ["surfacing", "hard_coat", "edging", "mounting", "final_inspection"]


def _timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def _inspections(rng: np.random.Generator, n: int) -> list[tuple[EyePowers, EyePowers]]:
    pairs = []
    for _ in range(n):
        sph, cyl = float(rng.integers(-24, 24)) / 4, -float(rng.integers(0, 12)) / 4
        axis = float(rng.integers(1, 181))
        ordered = EyePowers(sph, cyl, axis, add=2.0, seg_height=18.0)
        noise = rng.normal(0, 0.06, 3)
        measured = EyePowers(sph + noise[0], cyl + noise[1], axis, 2.0 + noise[2], 18.3)
        pairs.append((ordered, measured))
    return pairs


def _jobs(rng: np.random.Generator, n: int) -> list[JobOutcome]:
    jobs = []
    for i in range(n):
        created = START + timedelta(minutes=float(rng.uniform(0, 60 * 24 * 28)))
        shipped = created + timedelta(hours=float(rng.gamma(3.0, 16.0)))
        breaks = (Breakage("edging", "chip", "surfacing"),) if rng.random() < 0.05 else ()
        jobs.append(
            JobOutcome(
                f"o{i}", str(rng.choice(["single_vision", "progressive"])), "P1", "1.60",
                created, (created + timedelta(days=4)).date(), shipped, bool(rng.random() < 0.9),
                breaks, labour_minutes={s: float(rng.uniform(2, 12)) for s in STATIONS},
                product="PAL", price=Decimal("150.00"),
            )
        )  # fmt: skip
    return jobs


def _events(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    kinds = ["order.created", "order.shipped", "inspection.recorded", "breakage.recorded"]
    events = []
    for i in range(n):
        at = START + timedelta(seconds=float(rng.uniform(0, 86400 * 90)))
        events.append(
            {"id": str(i), "type": str(rng.choice(kinds)), "tenant_id": "lab",
             "occurred_at": at, "created_at": at - timedelta(hours=30), "pass": True}
        )  # fmt: skip
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    scale = 1 if args.quick else 10
    rng = np.random.default_rng(SEED)
    n_insp, n_points, n_jobs, n_events = (
        2_000 * scale,
        10_000 * scale,
        2_000 * scale,
        10_000 * scale,
    )

    pairs = _inspections(rng, n_insp)
    prism = PrismImbalance(0.1, 0.2)
    verdicts: list[bool] = []
    t_insp = _timed(
        lambda: verdicts.extend(
            final_inspection({"od": o, "os": o}, {"od": m, "os": m}, "progressive", prism).passed
            for o, m in pairs
        )
    )
    series = rng.normal(0, 1, n_points)
    limits = imr_limits(series[:200]).individuals
    found: dict[int, list[int]] = {}
    t_spc = _timed(lambda: found.update(nelson_violations(series, limits.centre, limits.sigma)))
    jobs = _jobs(rng, n_jobs)
    period = Period(START, START + timedelta(days=35))
    t_kpi = _timed(lambda: production_kpis(jobs, [], period, START + timedelta(days=35)))
    book = CostBook("USD", {"PAL": Decimal("12.50")}, {s: Decimal("25") for s in STATIONS})
    t_cost = _timed(lambda: order_costs(jobs, book))
    events = _events(rng, n_events)
    state = RollupState()
    t_apply = _timed(lambda: [apply(state, e) for e in events])
    t_recompute = _timed(lambda: recompute(events))
    print(
        json.dumps(
            {
                "bench": "quality",
                "cores": os.cpu_count(),
                "seed": SEED,
                "quick": args.quick,
                "inspections": n_insp,
                "inspections_per_s": round(n_insp / t_insp),
                "inspection_pass_share": round(sum(verdicts) / len(verdicts), 4),
                "nelson_points": n_points,
                "nelson_points_per_s": round(n_points / t_spc),
                "nelson_flagged_points": len(set().union(*found.values())) if found else 0,
                "kpi_jobs": n_jobs,
                "kpi_all_ms": round(t_kpi * 1000, 1),
                "cost_orders_per_s": round(n_jobs / t_cost),
                "rollup_events": n_events,
                "rollup_apply_events_per_s": round(n_events / t_apply),
                "rollup_recompute_s": round(t_recompute, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
