"""Final inspection of finished lenses against ANSI Z80.1 (DOMAIN.md "Finished-lens tolerances").

``final_inspection`` compares what was ordered with what the lensmeter measured and returns one
verdict per field (``/od/sphere``, ``/od/cylinder``, ``/od/axis``, ``/od/add``, ``/od/seg_height``,
``/prism_imbalance/vertical``, ``/prism_imbalance/horizontal``) plus an overall pass.

Decisions (ANSI Z80.1-2020, tables 1 and 2, as summarised in DOMAIN.md):

- Powers are compared in minus-cylinder form, the form labs surface in, so an order written in
  plus cylinder and a measurement in minus cylinder (or the reverse) are judged alike.
- Sphere is judged on the highest-power meridian of the order: in minus-cylinder form the two
  principal meridians are ``sphere`` and ``sphere + cylinder``; the one of larger absolute ordered
  power is compared with the same meridian of the measured lens.
- Band limits are inclusive ("up to 6.50 D" includes 6.50) and so are tolerances (a deviation
  exactly equal to the tolerance passes). A 1e-9 slack absorbs binary floating-point noise.
- Axis is judged only when the ordered cylinder is at least 0.12 D: Z80.1's axis table starts at
  0.12 D, and below that the lens is optically spherical, so an axis has no meaning.
- Add is judged for every lens type except single vision; seg height likewise, when it was ordered.
- The looser progressive power bands apply to ``progressive`` only (Z80.1 names progressive
  addition lenses); occupational and bifocal lenses use the general bands.
- Prism imbalance is the unwanted imbalance of the mounted pair, so its ordered value is 0 and its
  magnitude is judged; it is judged only when it was measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ils.errors import FieldIssue, ValidationFailed

EYES = ("od", "os")
LENS_TYPES = frozenset({"single_vision", "bifocal", "progressive", "occupational"})

_SLACK = 1e-9
MAX_ABS_POWER = 30.0
AXIS_CHECK_MIN_CYLINDER = 0.12

#: Axis tolerance (degrees) by ordered cylinder power: (cylinder up to, tolerance).
AXIS_BANDS: tuple[tuple[float, float], ...] = (
    (0.25, 14.0),
    (0.50, 7.0),
    (0.75, 5.0),
    (1.50, 3.0),
    (math.inf, 2.0),
)

VERTICAL_IMBALANCE_TOLERANCE = 0.33
HORIZONTAL_IMBALANCE_TOLERANCE = 0.67
SEG_HEIGHT_TOLERANCE_MM = 1.0


@dataclass(frozen=True)
class EyePowers:
    """Powers of one eye, ordered or measured. ``axis`` 0 means 180."""

    sphere: float
    cylinder: float = 0.0
    axis: float | None = None
    add: float | None = None
    seg_height: float | None = None


@dataclass(frozen=True)
class PrismImbalance:
    """Unwanted prism imbalance of the mounted pair, in prism dioptres."""

    vertical: float
    horizontal: float


@dataclass(frozen=True)
class FieldVerdict:
    pointer: str
    ordered: float | None
    measured: float | None
    tolerance: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "ordered": self.ordered,
            "measured": self.measured,
            "tolerance": round(self.tolerance, 4),
            "pass": self.passed,
        }


@dataclass(frozen=True)
class InspectionVerdict:
    passed: bool
    fields: tuple[FieldVerdict, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"pass": self.passed, "fields": [f.as_dict() for f in self.fields]}

    def failures(self) -> tuple[FieldVerdict, ...]:
        return tuple(f for f in self.fields if not f.passed)


def sphere_tolerance(power: float, lens_type: str) -> float:
    """Tolerance on the highest-power meridian, for an ordered meridian power."""
    p = abs(power)
    if lens_type == "progressive":
        return 0.16 if p <= 8.00 + _SLACK else 0.02 * p
    return 0.13 if p <= 6.50 + _SLACK else 0.02 * p


def cylinder_tolerance(cylinder: float, lens_type: str) -> float:
    """Tolerance on cylinder power, for an ordered cylinder."""
    c = abs(cylinder)
    if lens_type == "progressive":
        if c <= 2.00 + _SLACK:
            return 0.16
        return 0.18 if c <= 3.50 + _SLACK else 0.05 * c
    if c <= 2.00 + _SLACK:
        return 0.13
    return 0.15 if c <= 4.50 + _SLACK else 0.04 * c


def axis_tolerance(cylinder: float) -> float | None:
    """Axis tolerance in degrees for an ordered cylinder; None when the axis is not judged."""
    c = abs(cylinder)
    if c < AXIS_CHECK_MIN_CYLINDER - _SLACK:
        return None
    return next(tol for limit, tol in AXIS_BANDS if c <= limit + _SLACK)


def add_tolerance(add: float) -> float:
    return 0.12 if abs(add) <= 4.00 + _SLACK else 0.18


def axis_difference(a: float, b: float) -> float:
    """Angular distance between two cylinder axes (180-periodic): 179 and 2 are 3 degrees apart."""
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


def _minus_cylinder(eye: EyePowers) -> tuple[float, float, float | None]:
    """(sphere, cylinder, axis) in minus-cylinder form (DOMAIN.md "Transposition")."""
    if eye.cylinder <= 0 or eye.axis is None:
        return eye.sphere, eye.cylinder, eye.axis
    axis = (eye.axis + 90.0) % 180.0
    return eye.sphere + eye.cylinder, -eye.cylinder, axis if axis > 0 else 180.0


def _within(ordered: float, measured: float, tolerance: float) -> bool:
    return abs(measured - ordered) <= tolerance + _SLACK


def _power_verdicts(
    eye: str, ordered: EyePowers, measured: EyePowers, lens_type: str
) -> list[FieldVerdict]:
    o_sph, o_cyl, o_axis = _minus_cylinder(ordered)
    m_sph, m_cyl, m_axis = _minus_cylinder(measured)
    # Highest-power meridian of the order: the sphere meridian or the sphere+cylinder one.
    cyl_meridian = abs(o_sph + o_cyl) > abs(o_sph)
    o_main = o_sph + o_cyl if cyl_meridian else o_sph
    m_main = m_sph + m_cyl if cyl_meridian else m_sph
    tol_s = sphere_tolerance(o_main, lens_type)
    tol_c = cylinder_tolerance(o_cyl, lens_type)
    verdicts = [
        FieldVerdict(f"/{eye}/sphere", o_main, m_main, tol_s, _within(o_main, m_main, tol_s)),
        FieldVerdict(f"/{eye}/cylinder", o_cyl, m_cyl, tol_c, _within(o_cyl, m_cyl, tol_c)),
    ]
    tol_a = axis_tolerance(o_cyl)
    if tol_a is not None and o_axis is not None:
        passed = m_axis is not None and axis_difference(o_axis, m_axis) <= tol_a + _SLACK
        verdicts.append(FieldVerdict(f"/{eye}/axis", o_axis, m_axis, tol_a, passed))
    return verdicts


def _eye_verdicts(
    eye: str, ordered: EyePowers, measured: EyePowers, lens_type: str
) -> list[FieldVerdict]:
    verdicts = _power_verdicts(eye, ordered, measured, lens_type)
    if lens_type != "single_vision" and ordered.add is not None and measured.add is not None:
        tol = add_tolerance(ordered.add)
        ok = _within(ordered.add, measured.add, tol)
        verdicts.append(FieldVerdict(f"/{eye}/add", ordered.add, measured.add, tol, ok))
    if ordered.seg_height is not None and measured.seg_height is not None:
        tol = SEG_HEIGHT_TOLERANCE_MM
        ok = _within(ordered.seg_height, measured.seg_height, tol)
        verdicts.append(
            FieldVerdict(f"/{eye}/seg_height", ordered.seg_height, measured.seg_height, tol, ok)
        )
    return verdicts


def _prism_verdicts(prism: PrismImbalance) -> list[FieldVerdict]:
    rows = (
        ("vertical", abs(prism.vertical), VERTICAL_IMBALANCE_TOLERANCE),
        ("horizontal", abs(prism.horizontal), HORIZONTAL_IMBALANCE_TOLERANCE),
    )
    return [
        FieldVerdict(f"/prism_imbalance/{name}", 0.0, value, tol, value <= tol + _SLACK)
        for name, value, tol in rows
    ]


def final_inspection(
    ordered: Mapping[str, EyePowers],
    measured: Mapping[str, EyePowers],
    lens_type: str,
    prism_imbalance: PrismImbalance | None = None,
) -> InspectionVerdict:
    """Judge a finished pair (or single lens) against the order, per ANSI Z80.1.

    ``ordered`` and ``measured`` map ``"od"``/``"os"`` to powers; every ordered eye must be
    measured. Raises ``ValidationFailed`` (pointers under ``/measured``) for impossible or missing
    measurements.
    """
    _check_inputs(ordered, measured, lens_type, prism_imbalance)
    fields: list[FieldVerdict] = []
    for eye in EYES:
        if eye in ordered:
            fields.extend(_eye_verdicts(eye, ordered[eye], measured[eye], lens_type))
    if prism_imbalance is not None:
        fields.extend(_prism_verdicts(prism_imbalance))
    return InspectionVerdict(all(f.passed for f in fields), tuple(fields))


def _check_inputs(
    ordered: Mapping[str, EyePowers],
    measured: Mapping[str, EyePowers],
    lens_type: str,
    prism: PrismImbalance | None,
) -> None:
    issues: list[FieldIssue] = []
    if lens_type not in LENS_TYPES:
        issues.append(FieldIssue("/lens/type", "unknown-lens-type", f"unknown: {lens_type!r}"))
    if not ordered:
        issues.append(FieldIssue("/rx", "eye-required", "the order has no eye to inspect"))
    for eye in EYES:
        if eye not in ordered:
            continue
        if eye not in measured:
            issues.append(FieldIssue(f"/measured/{eye}", "measurement-missing", "not measured"))
            continue
        issues.extend(_measured_eye_issues(eye, ordered[eye], measured[eye], lens_type))
    if prism is not None:
        for name in ("vertical", "horizontal"):
            if not math.isfinite(getattr(prism, name)):
                issues.append(_not_finite(f"/measured/prism_imbalance/{name}"))
    if issues:
        raise ValidationFailed(issues, "the inspection measurements are not valid")


def _not_finite(pointer: str) -> FieldIssue:
    return FieldIssue(pointer, "not-a-number", "must be a finite number")


_RANGE_RULES: tuple[tuple[str, Callable[[float], bool], str], ...] = (
    ("sphere", lambda v: abs(v) <= MAX_ABS_POWER, f"|sphere| must be <= {MAX_ABS_POWER}"),
    ("cylinder", lambda v: abs(v) <= MAX_ABS_POWER, f"|cylinder| must be <= {MAX_ABS_POWER}"),
    ("axis", lambda v: 0.0 <= v <= 180.0, "axis must be within 0..180"),
    ("add", lambda v: 0.0 <= v <= MAX_ABS_POWER, f"add must be within 0..{MAX_ABS_POWER}"),
    ("seg_height", lambda v: v >= 0.0, "seg height must not be negative"),
)


def _measured_eye_issues(
    eye: str, ordered: EyePowers, measured: EyePowers, lens_type: str
) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for name, rule, detail in _RANGE_RULES:
        value = getattr(measured, name)
        pointer = f"/measured/{eye}/{name}"
        if value is None:
            continue
        if not math.isfinite(value):
            issues.append(_not_finite(pointer))
        elif not rule(value):
            issues.append(FieldIssue(pointer, "out-of-range", detail))
    if measured.cylinder != 0 and measured.axis is None:
        issues.append(FieldIssue(f"/measured/{eye}/axis", "axis-required", "cylinder needs axis"))
    if ordered.cylinder != 0 and ordered.axis is None:
        issues.append(FieldIssue(f"/rx/{eye}/axis", "axis-required", "ordered cylinder needs axis"))
    wanted = [("seg_height", ordered.seg_height)]
    if lens_type != "single_vision":
        wanted.append(("add", ordered.add))
    for name, ordered_value in wanted:
        if ordered_value is not None and getattr(measured, name) is None:
            pointer = f"/measured/{eye}/{name}"
            issues.append(FieldIssue(pointer, "measurement-missing", f"{name} was ordered"))
    return issues


def eye_powers_from_dict(body: Mapping[str, Any], pointer: str = "") -> EyePowers:
    """Read one eye of an API body (``{"sphere", "cylinder", "axis", "add", "seg_height"}``).

    ``pointer`` locates the eye in the request (``/measured/od``) for the error raised when
    ``sphere`` is missing.
    """

    def number(name: str) -> float | None:
        value = body.get(name)
        return None if value is None else float(value)

    sphere = number("sphere")
    if sphere is None:
        issue = FieldIssue(f"{pointer}/sphere", "measurement-missing", "sphere is required")
        raise ValidationFailed([issue])
    return EyePowers(
        sphere=sphere,
        cylinder=number("cylinder") or 0.0,
        axis=number("axis"),
        add=number("add"),
        seg_height=number("seg_height"),
    )


def measurement_from_dict(
    body: Mapping[str, Any],
) -> tuple[dict[str, EyePowers], PrismImbalance | None]:
    """Read the API's ``measured`` object into eyes and an optional prism imbalance."""
    eyes = {
        eye: eye_powers_from_dict(body[eye], f"/measured/{eye}")
        for eye in EYES
        if body.get(eye) is not None
    }
    raw = body.get("prism_imbalance")
    prism = None
    if raw is not None:
        prism = PrismImbalance(float(raw.get("vertical", 0.0)), float(raw.get("horizontal", 0.0)))
    return eyes, prism
