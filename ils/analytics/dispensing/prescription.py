"""The parts of an order the dispensing assistant reads: Rx per eye, patient, frame.

Small frozen values of the assistant's own; the order's pydantic models and full validator live in
``ils.domain``. ``parse_prescription`` refuses an Rx outside the DOMAIN.md ranges with the same
error objects as order validation, so a refused Rx never gets a recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ils.errors import FieldIssue, ValidationFailed

HIGH_POWER: Final = 4.0  # DOMAIN.md: high index above about +/-4.00 D
VERY_HIGH_POWER: Final = 6.0  # 1.67/1.74 for very high powers
POWER_BANDS: Final = ((2.0, "0-2D"), (4.0, "2-4D"), (6.0, "4-6D"), (float("inf"), "6D+"))

_RANGES: Final = {
    "sphere": (-20.0, 20.0, 0.25),
    "cylinder": (-10.0, 10.0, 0.25),
    "add": (0.75, 4.0, 0.25),
    "seg_height": (10.0, 40.0, 0.5),
    "pd": (25.0, 80.0, 0.5),
}


@dataclass(frozen=True)
class EyeRx:
    sphere: float
    cylinder: float = 0.0
    axis: int | None = None
    add: float | None = None
    seg_height: float | None = None
    pd: float | None = None

    @property
    def max_power(self) -> float:
        """Largest absolute power of the two principal meridians."""
        return max(abs(self.sphere), abs(self.sphere + self.cylinder))

    @property
    def strongest_meridian(self) -> float:
        a, b = self.sphere, self.sphere + self.cylinder
        return a if abs(a) >= abs(b) else b


@dataclass(frozen=True)
class Prescription:
    od: EyeRx
    os: EyeRx

    @property
    def max_power(self) -> float:
        return max(self.od.max_power, self.os.max_power)

    @property
    def strongest_meridian(self) -> float:
        a, b = self.od.strongest_meridian, self.os.strongest_meridian
        return a if abs(a) >= abs(b) else b

    @property
    def add(self) -> float | None:
        adds = [e.add for e in (self.od, self.os) if e.add]
        return max(adds) if adds else None

    @property
    def fitting_height(self) -> float | None:
        heights = [e.seg_height for e in (self.od, self.os) if e.seg_height is not None]
        return min(heights) if heights else None

    @property
    def power_band(self) -> str:
        return power_band(self.max_power)


@dataclass(frozen=True)
class Patient:
    age: int | None = None
    occupation: str | None = None


@dataclass(frozen=True)
class Frame:
    type: str | None = None  # full_rim | semi_rimless | rimless
    a: float | None = None
    b: float | None = None
    dbl: float | None = None
    ed: float | None = None


def power_band(max_power: float) -> str:
    return next(name for upper, name in POWER_BANDS if max_power <= upper)


def _number(eye: Mapping[str, Any], key: str, pointer: str, issues: list[FieldIssue]) -> float:
    value = eye.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(FieldIssue(f"{pointer}/{key}", f"{key}-not-a-number", "must be a number"))
        return 0.0
    low, high, step = _RANGES[key]
    if not low <= value <= high:
        issues.append(FieldIssue(f"{pointer}/{key}", f"{key}-out-of-range", f"{low}..{high}"))
    elif abs(value / step - round(value / step)) > 1e-6:
        issues.append(FieldIssue(f"{pointer}/{key}", f"{key}-step", f"steps of {step}"))
    return float(value)


def _eye(eye: Mapping[str, Any], pointer: str, issues: list[FieldIssue]) -> EyeRx:
    if eye.get("sphere") is None:
        issues.append(FieldIssue(f"{pointer}/sphere", "sphere-required", "sphere is required"))
    sphere = _number(eye, "sphere", pointer, issues)
    cylinder = _number(eye, "cylinder", pointer, issues)
    axis = eye.get("axis")
    if cylinder and (not isinstance(axis, int) or not 0 <= axis <= 180):
        issues.append(FieldIssue(f"{pointer}/axis", "axis-required", "integer 1..180"))
    values = {k: _number(eye, k, pointer, issues) if eye.get(k) is not None else None
              for k in ("add", "seg_height", "pd")}  # fmt: skip
    return EyeRx(
        sphere,
        cylinder,
        (axis or 180) if cylinder and isinstance(axis, int) else None,
        values["add"],
        values["seg_height"],
        values["pd"],
    )


def parse_prescription(rx: Mapping[str, Any]) -> Prescription:
    """An Rx mapping as in API.md orders -> Prescription; ValidationFailed when it is refused."""
    issues: list[FieldIssue] = []
    eyes = []
    for side in ("od", "os"):
        eye = rx.get(side)
        if not isinstance(eye, Mapping):
            issues.append(FieldIssue(f"/rx/{side}", f"{side}-required", "both eyes are needed"))
            eye = {"sphere": 0.0}
        eyes.append(_eye(eye, f"/rx/{side}", issues))
    if issues:
        raise ValidationFailed(issues)
    return Prescription(eyes[0], eyes[1])


def parse_patient(patient: Mapping[str, Any] | None) -> Patient:
    patient = patient or {}
    age = patient.get("age")
    if age is not None and (
        isinstance(age, bool) or not isinstance(age, int) or not 0 <= age < 130
    ):
        raise ValidationFailed([FieldIssue("/patient/age", "age-invalid", "integer 0..129")])
    occupation = patient.get("occupation")
    return Patient(age, str(occupation) if occupation else None)


def parse_frame(frame: Mapping[str, Any] | None) -> Frame:
    frame = frame or {}
    kind = frame.get("type")
    if kind is not None and kind not in ("full_rim", "semi_rimless", "rimless"):
        raise ValidationFailed(
            [FieldIssue("/frame/type", "frame-type-invalid", "full_rim|semi_rimless|rimless")]
        )
    dims = {}
    for key in ("a", "b", "dbl", "ed"):
        value = frame.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValidationFailed([FieldIssue(f"/frame/{key}", "not-a-number", "millimetres")])
        dims[key] = float(value) if value is not None else None
    return Frame(kind, dims["a"], dims["b"], dims["dbl"], dims["ed"])
