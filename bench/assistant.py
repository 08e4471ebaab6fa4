"""Benchmark of the AI dispensing assistant.

1. Intent extraction on the labelled clinical notes (tests/data/clinical_notes.jsonl): micro and
   per-intent precision, recall and F1, separately for the development part (the rules were tuned
   on it) and the held-out part (not tuned on).
2. Manufacturing model on a simulated lab history with known true rates: how often the Jeffreys
   95% interval of a configuration's breakage rate contains the true rate.
3. Recommendation latency (parse + intents + constraints + scoring + tiers) against a simulated
   5,000-product catalog with a fitted history, over random prescriptions, patients and notes.

Run: ``python -m bench.assistant [--quick] [--seed N]``. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from ils.analytics.dispensing.catalog import LENS_TYPES, MATERIALS, CatalogIndex, Product
from ils.analytics.dispensing.evaluation import LabelledNote, errors, evaluate, predict
from ils.analytics.dispensing.manufacturing import JobOutcome, ManufacturingModel
from ils.analytics.dispensing.prescription import power_band
from ils.analytics.dispensing.recommender import parse_request, recommend

NOTES = Path(__file__).resolve().parents[1] / "tests" / "data" / "clinical_notes.jsonl"
DESIGNS = ("standard", "aspheric", "digital", "digital short", "premium", "premium short")
COATING_SETS = (
    ("hard",),
    ("hard", "ar"),
    ("hard", "ar", "uv"),
    ("hard", "ar", "blue_light"),
    ("hard", "ar", "uv", "photochromic"),
    ("hard", "ar", "uv", "polarized"),
)


def load_notes() -> list[LabelledNote]:
    rows = [json.loads(line) for line in NOTES.read_text().splitlines() if line.strip()]
    return [
        LabelledNote(r["id"], r["split"], r["text"], frozenset((t, n) for t, n in r["labels"]))
        for r in rows
    ]


def intent_figures(notes: Sequence[LabelledNote]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in ("dev", "heldout"):
        part = [n for n in notes if n.split == split]
        predicted = predict(part)
        micro, per = evaluate([n.labels for n in part], predicted)
        out[split] = {
            "notes": len(part),
            "labels": sum(len(n.labels) for n in part),
            "micro": micro.as_dict(),
            "per_intent": {tag: s.as_dict() for tag, s in sorted(per.items())},
            "notes_with_errors": len(errors(part, predicted)),
        }
    return out


def simulated_catalog(size: int, rng: np.random.Generator) -> list[Product]:
    materials = sorted(MATERIALS)
    products = []
    for i in range(size):
        lens_type = str(rng.choice(LENS_TYPES, p=[0.45, 0.1, 0.35, 0.1]))
        material = str(rng.choice(materials))
        design = str(rng.choice(DESIGNS))
        coatings = COATING_SETS[int(rng.integers(len(COATING_SETS)))]
        price = (
            30
            * (1 + (MATERIALS[material].index - 1.5) * 6)
            * (3 if lens_type != "single_vision" else 1)
            + 25 * len(coatings)
            + 60 * ("premium" in design)
            + rng.normal(0, 10)
        )  # fmt: skip
        mfh = float(rng.integers(13, 19)) if lens_type == "progressive" else None
        products.append(
            Product(
                f"SKU-{i:05d}",
                f"{design} {material} {lens_type}",
                lens_type,
                material,
                design,
                frozenset(coatings),
                Decimal(f"{max(price, 15):.2f}"),
                "USD",
                bool(rng.random() < 0.8),
                mfh,
            )
        )
    return products


def _true_breakage(product: Product, band: str) -> float:
    base = {"0-2D": 0.03, "2-4D": 0.04, "4-6D": 0.06, "6D+": 0.09}[band]
    return (
        base
        * (1.5 if product.material == "1.74" else 1.0)
        * (1.3 if "ar" in product.coatings else 1.0)
    )


def simulated_history(
    products: Sequence[Product], jobs: int, rng: np.random.Generator
) -> tuple[list[JobOutcome], dict[tuple[Any, ...], float]]:
    """Jobs on a skewed mix of products (a few popular ones), with known true breakage rates."""
    weights = rng.pareto(1.2, len(products)) + 0.01
    picks = rng.choice(len(products), size=jobs, p=weights / weights.sum())
    powers = np.abs(rng.normal(0, 3, size=jobs)).round(2)
    truth: dict[tuple[Any, ...], float] = {}
    history = []
    for k, power in zip(picks, powers, strict=True):
        p = products[int(k)]
        band = power_band(float(power))
        rate = _true_breakage(p, band)
        key = ((p.lens_type, p.material, p.design, tuple(sorted(p.coatings))), band)
        truth[key] = rate
        non_adapt = p.lens_type == "progressive" and rng.random() < (
            0.1 if "premium" in p.design else 0.06
        )
        breakage = bool(rng.random() < rate)
        history.append(
            JobOutcome(
                p.lens_type,
                p.material,
                p.design,
                p.coatings,
                float(power),
                breakage,
                breakage or non_adapt or bool(rng.random() < 0.03),
                bool(non_adapt),
                float(rng.gamma(4, 1.2)),
            )
        )
    return history, truth


def coverage(model: ManufacturingModel, truth: dict[tuple[Any, ...], float]) -> dict[str, Any]:
    inside = total = 0
    for (config, band), rate in truth.items():
        estimate = model.estimate(config, band)
        if estimate.level == "configuration+band":
            r = estimate.rates["breakage"]
            total += 1
            inside += r.low <= rate <= r.high
    return {"intervals": total, "coverage_95": round(inside / total, 4) if total else None}


def random_body(rng: np.random.Generator, notes: Sequence[LabelledNote]) -> dict[str, Any]:
    def quarter(lo: float, hi: float) -> float:
        return float(rng.integers(int(lo * 4), int(hi * 4) + 1)) / 4

    add = quarter(0.75, 3.0) if rng.random() < 0.4 else None
    seg = float(rng.integers(26, 50)) / 2 if add else None
    eye = {"sphere": quarter(-10, 6), "cylinder": quarter(-3, 0), "axis": 90, "add": add,
           "seg_height": seg}  # fmt: skip
    return {
        "rx": {"od": eye, "os": dict(eye, sphere=quarter(-10, 6))},
        "clinical_notes": " ".join(n.text for n in rng.choice(np.array(notes, dtype=object), 3)),
        "patient": {"age": int(rng.integers(5, 85))},
        "frame": {"type": str(rng.choice(["full_rim", "semi_rimless", "rimless"])),
                  "b": float(rng.integers(22, 40))},
    }  # fmt: skip


def latency(
    catalog: CatalogIndex, model: ManufacturingModel, notes: Sequence[LabelledNote], requests: int,
    rng: np.random.Generator,
) -> dict[str, Any]:  # fmt: skip
    bodies = [random_body(rng, notes) for _ in range(requests)]
    recommend(parse_request(bodies[0]), catalog, model)  # first call: imports and lazy tables
    times = []
    filled = 0
    for body in bodies:
        start = time.perf_counter()
        answer = recommend(parse_request(body), catalog, model)
        times.append((time.perf_counter() - start) * 1000)
        filled += sum(t["product_id"] is not None for t in answer["tiers"].values())
    ms = np.array(times)
    return {
        "requests": requests,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "tiers_with_a_product_share": round(filled / (3 * requests), 4),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    sizes = {"catalog": 5000, "history_jobs": 20000 if args.quick else 60000,
             "requests": 300 if args.quick else 2000}  # fmt: skip
    notes = load_notes()
    intents = intent_figures(notes)
    products = simulated_catalog(sizes["catalog"], rng)
    t0 = time.perf_counter()
    index = CatalogIndex(products)
    t1 = time.perf_counter()
    history, truth = simulated_history(products, sizes["history_jobs"], rng)
    t2 = time.perf_counter()
    model = ManufacturingModel.fit(history)
    t3 = time.perf_counter()
    result: dict[str, Any] = {
        "bench": "assistant",
        "intents": intents,
        "manufacturing": {"jobs": len(history), "min_jobs": model.min_jobs,
                          "fit_s": round(t3 - t2, 3), **coverage(model, truth)},
        "recommendation": {"catalog_index_build_s": round(t1 - t0, 3),
                           **latency(index, model, notes, sizes["requests"], rng)},
        "conditions": {"cores": os.cpu_count(), "python": platform.python_version(),
                       "seed": args.seed, "quick": args.quick, **sizes},
    }  # fmt: skip
    print(f"held-out micro-F1 {intents['heldout']['micro']['f1']}, "
          f"dev micro-F1 {intents['dev']['micro']['f1']}, "
          f"p99 {result['recommendation']['p99_ms']} ms")  # fmt: skip
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
