"""Synthetic orders with a realistic product mix, for self-arrivals and offline history.

Mix assumptions (industry surveys of US wholesale labs): single vision is a little over half of
jobs, progressives about 30%; most jobs are hard coated and a majority get AR; tints are rare.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

LENS_MIX = {"single_vision": 0.55, "progressive": 0.30, "bifocal": 0.08, "occupational": 0.07}
MATERIAL_MIX = {
    "cr39": 0.22,
    "1.56": 0.08,
    "1.60": 0.18,
    "1.67": 0.12,
    "1.74": 0.03,
    "polycarbonate": 0.30,
    "trivex": 0.07,
}
COATING_RATES = {
    "hard": 0.9,
    "ar": 0.62,
    "blue_light": 0.18,
    "photochromic": 0.14,
    "uv": 0.35,
    "polarized": 0.03,
    "tint": 0.07,
}
FRAME_MIX = {"full_rim": 0.72, "semi_rimless": 0.18, "rimless": 0.10}


def _pick(rng: np.random.Generator, mix: dict[str, float]) -> str:
    names = list(mix)
    weights = np.array([mix[n] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _quarter(x: float) -> float:
    return round(x * 4) / 4


def synthetic_eye(rng: np.random.Generator, lens_type: str, add: float) -> dict[str, Any]:
    sphere = _quarter(float(np.clip(rng.normal(-0.75, 2.6), -12.0, 8.0)))
    cylinder = -_quarter(float(np.clip(rng.gamma(1.3, 0.55), 0.0, 6.0)))
    eye: dict[str, Any] = {"sphere": sphere, "cylinder": cylinder, "pd": 31.5}
    if cylinder != 0:
        eye["axis"] = int(rng.integers(1, 181))
    if lens_type != "single_vision":
        eye["add"] = add
        eye["seg_height"] = float(np.round(rng.normal(18.0, 2.0) * 2) / 2)
    if rng.random() < 0.04:
        eye["prism"] = [{"amount": _quarter(float(rng.uniform(0.5, 3.0))), "base": "IN"}]
    return eye


def synthetic_order(rng: np.random.Generator) -> dict[str, Any]:
    """An order body shaped like API.md's order response (the fields the lab reads)."""
    lens_type = _pick(rng, LENS_MIX)
    add = _quarter(float(np.clip(rng.normal(2.0, 0.5), 0.75, 3.5)))
    coatings = [c for c, p in COATING_RATES.items() if rng.random() < p]
    return {
        "id": str(uuid.UUID(bytes=rng.bytes(16), version=4)),
        "lens": {
            "type": lens_type,
            "material": _pick(rng, MATERIAL_MIX),
            "coatings": coatings,
        },
        "rx": {eye: synthetic_eye(rng, lens_type, add) for eye in ("od", "os")},
        "frame": {"type": _pick(rng, FRAME_MIX)},
    }


def synthetic_draft(
    rng: np.random.Generator, lab_id: str, patient_ref: str, due_date: str
) -> dict[str, Any]:
    """A practice's ``POST /api/orders`` body with the same mix (API.md "Orders"), in a frame
    deep enough for the fitting heights drawn."""
    order = synthetic_order(rng)
    for eye in order["rx"].values():  # a fitting the practice measured for a progressive's design
        if "seg_height" in eye:
            eye["seg_height"] = max(eye["seg_height"], 16.0)
    a = float(np.round(rng.uniform(48.0, 56.0) * 2) / 2)
    frame = {
        **order["frame"],
        "a": a,
        "b": float(np.round(rng.uniform(30.0, 36.0) * 2) / 2),
        "dbl": float(rng.integers(16, 21)),
        "ed": a + 3.0,
    }
    return {
        "lab_id": lab_id,
        "patient_ref": patient_ref,
        "due_date": due_date,
        "rx": order["rx"],
        "lens": order["lens"],
        "frame": frame,
    }
