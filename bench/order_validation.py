"""Order validation benchmark: parse + validate latency of order drafts, and transition cost.

Drafts are drawn from a seeded generator over the whole prescription grid (and a little beyond it,
so that some are refused), all four lens types, every material and frame type; each is a JSON
body like ``POST /api/orders`` receives. Measured per draft: pydantic parsing
(``OrderDraft.model_validate_json``) and ``validate_order``, separately, on one core.

Run: ``python -m bench.order_validation [--quick]``; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from typing import Any

import numpy as np

from ils.domain.lens import FrameType, LensType, Material
from ils.domain.order import OrderDraft
from ils.domain.order_status import OrderState, OrderStatus, transition
from ils.domain.validation import validate_order

SEED = 20261125


def _grid(rng: np.random.Generator, low: float, high: float, step: float) -> float:
    """A value on the grid, a little beyond the range 5% of the time, off the grid 2%."""
    value = float(rng.integers(round(low / step), round(high / step) + 1)) * step
    if rng.random() < 0.05:
        value += step * 4 * (1 if value >= 0 else -1)
    if rng.random() < 0.02:
        value += step / 3
    return round(value, 4)


def _eye(rng: np.random.Generator, lens_type: str, pd: float | None) -> dict[str, Any]:
    cylinder = _grid(rng, -4.0, 0.0, 0.25)
    eye: dict[str, Any] = {"sphere": _grid(rng, -8.0, 6.0, 0.25), "cylinder": cylinder}
    if cylinder != 0:
        eye["axis"] = int(rng.integers(1, 181))
    if lens_type != "single_vision":
        eye["add"] = _grid(rng, 0.75, 3.0, 0.25)
        eye["seg_height"] = _grid(rng, 14.0, 24.0, 0.5)
    if pd is not None:
        eye["pd"] = pd
    if rng.random() < 0.2:
        eye["prism"] = [
            {"amount": _grid(rng, 0.5, 3.0, 0.25), "base": str(rng.choice(["IN", "UP"]))}
        ]
    if rng.random() < 0.5:
        eye["vertex_distance"] = 12.0
    return eye


def draft_body(rng: np.random.Generator) -> str:
    """One random order draft as a JSON body."""
    lens_type = str(rng.choice([t.value for t in LensType]))
    monocular = rng.random() < 0.6
    od_pd = _grid(rng, 28.0, 36.0, 0.5) if monocular else _grid(rng, 56.0, 72.0, 0.5)
    os_pd = _grid(rng, 28.0, 36.0, 0.5) if monocular else None
    a = _grid(rng, 46.0, 58.0, 0.5)
    body = {
        "lab_id": "0b8f6b4e-8d0e-4a57-9b1e-2f0c3a1d9e11",
        "patient_ref": f"P-{int(rng.integers(1, 99999))}",
        "due_date": "2026-12-10",
        "rx": {"od": _eye(rng, lens_type, od_pd), "os": _eye(rng, lens_type, os_pd)},
        "lens": {
            "type": lens_type,
            "material": str(rng.choice([m.value for m in Material])),
            "coatings": ["hard", "ar"] if rng.random() < 0.7 else ["hard"],
        },
        "frame": {
            "type": str(rng.choice([f.value for f in FrameType])),
            "a": a,
            "b": _grid(rng, 24.0, 40.0, 0.5),
            "dbl": _grid(rng, 15.0, 21.0, 0.5),
            "ed": a + 4.0,
        },
    }
    return json.dumps(body)


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    us = np.array(samples_s) * 1e6
    return {
        "p50_us": round(float(np.percentile(us, 50)), 1),
        "p99_us": round(float(np.percentile(us, 99)), 1),
        "mean_us": round(float(us.mean()), 1),
    }


def measure_validation(count: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    bodies = [draft_body(rng) for _ in range(count)]
    parse_s, validate_s = [], []
    codes: Counter[str] = Counter()
    valid = 0
    for body in bodies:
        started = time.perf_counter()
        draft = OrderDraft.model_validate_json(body)
        parsed = time.perf_counter()
        result = validate_order(draft)
        parse_s.append(parsed - started)
        validate_s.append(time.perf_counter() - parsed)
        valid += result.valid
        codes.update(i.code for i in [*result.errors, *result.warnings])
    return {
        "drafts": count,
        "valid_fraction": round(valid / count, 4),
        "parse": _percentiles(parse_s),
        "validate": _percentiles(validate_s),
        "top_codes": dict(codes.most_common(8)),
    }


def measure_transitions(rounds: int) -> dict[str, Any]:
    path = [
        OrderStatus.IN_PRODUCTION,
        OrderStatus.ON_HOLD,
        OrderStatus.IN_PRODUCTION,
        OrderStatus.QUALITY_CHECK,
        OrderStatus.SHIPPED,
        OrderStatus.COMPLETED,
    ]
    started = time.perf_counter()
    for _ in range(rounds):
        state = OrderState(OrderStatus.PENDING)
        for to in path:
            state = transition(state, to)
    elapsed = time.perf_counter() - started
    return {
        "transitions": rounds * len(path),
        "per_transition_us": round(elapsed / (rounds * len(path)) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    args = parser.parse_args()
    count, rounds = (2_000, 2_000) if args.quick else (20_000, 20_000)
    validation = measure_validation(count, SEED)
    transitions = measure_transitions(rounds)
    print(f"validate p50 {validation['validate']['p50_us']} us over {count} drafts")
    result = {
        "bench": "order_validation",
        "conditions": {"cores": os.cpu_count(), "seed": SEED, "drafts": count, "quick": args.quick},
        "validation": validation,
        "transitions": transitions,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
