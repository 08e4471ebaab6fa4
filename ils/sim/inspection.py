"""Final inspection in the simulated lab: measured powers and the LIMS's own pass/fail.

The lab measures the finished lenses with a lensmeter: ordered value + measurement and process
noise. Tolerances are ANSI Z80.1 (DOMAIN.md); the noise is a fraction of each field's tolerance, so
that an occasional job falls out of tolerance at a rate that follows from the configuration rather
than from a hard-coded failure rate. ILS judges the measurements again on its side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PRISM_VERTICAL_TOL = 0.33
PRISM_HORIZONTAL_TOL = 0.67
SEG_HEIGHT_TOL = 1.0


def sphere_tolerance(power: float, progressive: bool) -> float:
    p = abs(power)
    if progressive:
        return 0.16 if p <= 8.0 else 0.02 * p
    return 0.13 if p <= 6.5 else 0.02 * p


def cylinder_tolerance(cylinder: float, progressive: bool) -> float:
    c = abs(cylinder)
    if progressive:
        return 0.16 if c <= 2.0 else 0.18 if c <= 3.5 else 0.05 * c
    return 0.13 if c <= 2.0 else 0.15 if c <= 4.5 else 0.04 * c


def axis_tolerance(cylinder: float) -> float | None:
    """Degrees; ``None`` when the cylinder is too weak for the axis to be checked."""
    c = abs(cylinder)
    if c < 0.12:
        return None
    for limit, tol in ((0.25, 14.0), (0.50, 7.0), (0.75, 5.0), (1.50, 3.0)):
        if c <= limit:
            return tol
    return 2.0


def add_tolerance(add: float) -> float:
    return 0.12 if abs(add) <= 4.0 else 0.18


def axis_difference(a: float, b: float) -> float:
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


def _wrap_axis(axis: float) -> int:
    a = round(axis) % 180
    return 180 if a == 0 else a


def _measure_eye(
    eye: dict[str, Any], progressive: bool, noise: float, rng: np.random.Generator
) -> tuple[dict[str, Any], bool]:
    sphere = float(eye.get("sphere") or 0.0)
    cylinder = float(eye.get("cylinder") or 0.0)
    fields = [("sphere", sphere, sphere_tolerance(sphere, progressive))]
    fields.append(("cylinder", cylinder, cylinder_tolerance(cylinder, progressive)))
    if eye.get("add") is not None:
        fields.append(("add", float(eye["add"]), add_tolerance(float(eye["add"]))))
    if eye.get("seg_height") is not None:
        fields.append(("seg_height", float(eye["seg_height"]), SEG_HEIGHT_TOL))
    measured: dict[str, Any] = {}
    ok = True
    for name, ordered, tol in fields:
        value = ordered + rng.normal(0.0, noise * tol)
        measured[name] = round(value, 2)
        ok &= abs(measured[name] - ordered) <= tol
    axis_tol = axis_tolerance(cylinder)
    if axis_tol is not None and eye.get("axis") is not None:
        ordered_axis = float(eye["axis"])
        measured["axis"] = _wrap_axis(ordered_axis + rng.normal(0.0, noise * axis_tol))
        ok &= axis_difference(measured["axis"], ordered_axis) <= axis_tol
    return measured, bool(ok)


def measure(
    rx: dict[str, dict[str, Any]], lens_type: str, noise: float, rng: np.random.Generator
) -> tuple[dict[str, Any], bool]:
    """The ``measured`` object of a ``job.inspection`` event and the lab's pass/fail."""
    progressive = lens_type == "progressive"
    measured: dict[str, Any] = {}
    passed = True
    for side in ("od", "os"):
        if side in rx:
            measured[side], ok = _measure_eye(rx[side], progressive, noise, rng)
            passed &= ok
    vertical = abs(rng.normal(0.0, noise * PRISM_VERTICAL_TOL))
    horizontal = abs(rng.normal(0.0, noise * PRISM_HORIZONTAL_TOL))
    measured["prism_imbalance"] = {
        "vertical": round(float(vertical), 2),
        "horizontal": round(float(horizontal), 2),
    }
    passed &= vertical <= PRISM_VERTICAL_TOL and horizontal <= PRISM_HORIZONTAL_TOL
    return measured, bool(passed)


def sphere_tolerances(power: np.ndarray, progressive: np.ndarray) -> np.ndarray:
    """Vectorised ``sphere_tolerance`` (offline history)."""
    p = np.abs(power)
    flat = np.where(progressive, 0.16, 0.13)
    limit = np.where(progressive, 8.0, 6.5)
    return np.where(p <= limit, flat, 0.02 * p)


def cylinder_tolerances(cylinder: np.ndarray, progressive: np.ndarray) -> np.ndarray:
    """Vectorised ``cylinder_tolerance`` (offline history)."""
    c = np.abs(cylinder)
    regular = np.select([c <= 2.0, c <= 4.5], [0.13, 0.15], 0.04 * c)
    loose = np.select([c <= 2.0, c <= 3.5], [0.16, 0.18], 0.05 * c)
    return np.where(progressive, loose, regular)


def axis_tolerances(cylinder: np.ndarray) -> np.ndarray:
    """Vectorised ``axis_tolerance``; ``inf`` where the axis is not checked."""
    c = np.abs(cylinder)
    return np.select(
        [c < 0.12, c <= 0.25, c <= 0.5, c <= 0.75, c <= 1.5],
        [np.inf, 14.0, 7.0, 5.0, 3.0],
        2.0,
    )
