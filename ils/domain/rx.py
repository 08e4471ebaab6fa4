"""The spectacle prescription (Rx) and the optics computed from it (DOMAIN.md "The prescription").

Models follow API.md "Orders" field for field. Every value a domain rule checks (axis, add, PD,
near PD, segment height, vertex distance) is optional here so that :func:`validate_order` can
report its absence with a stable code and a JSON pointer instead of a generic schema error.

Parsing conventions:

- numbers are strict: ``"2.50"`` is refused where a number is expected; ints are accepted;
- ``sphere`` also accepts the word ``"plano"`` (any case), which means 0.00 D (DOMAIN.md);
- ``axis`` is a whole number of degrees; ``0`` means 180 and is normalised to 180 on parsing.

Optics (standard ophthalmic optics, e.g. Jalie, *The Principles of Ophthalmic Lenses*): a
sphero-cylinder ``S / C x A`` has power ``S`` in the meridian at ``A`` and ``S + C`` in the
meridian at ``A + 90``; transposition rewrites the same lens with the cylinder of the other sign.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from ils.domain.quantity import Degrees, Dioptres, Millimetres, PrismDioptres, quantise


class PrismBase(StrEnum):
    IN = "IN"
    OUT = "OUT"
    UP = "UP"
    DOWN = "DOWN"

    @property
    def horizontal(self) -> bool:
        """Base IN/OUT deviates horizontally; base UP/DOWN vertically."""
        return self in (PrismBase.IN, PrismBase.OUT)


class Prism(BaseModel):
    """One prism component of one eye; ``base`` is required when ``amount`` > 0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: PrismDioptres
    base: PrismBase | None = None


class EyeRx(BaseModel):
    """The prescription of one eye (OD = right, OS = left).

    PD convention: a binocular distance PD is given once, on ``od.pd`` (or ``os.pd``) with the
    other eye's ``pd`` omitted; monocular PDs are given on both eyes. ``near_pd`` follows the same
    shape as ``pd`` and defaults to PD - 3 mm (binocular) / PD - 1.5 mm (monocular).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sphere: Dioptres
    cylinder: Dioptres = 0.0
    axis: Degrees | None = None
    add: Dioptres | None = None
    prism: tuple[Prism, ...] = ()
    pd: Millimetres | None = None
    near_pd: Millimetres | None = None
    seg_height: Millimetres | None = None
    vertex_distance: Millimetres | None = None

    @field_validator("sphere", mode="before")
    @classmethod
    def _plano_is_zero(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "plano":
            return 0.0
        return value

    @field_validator("axis")
    @classmethod
    def _axis_zero_is_180(cls, value: int | None) -> int | None:
        return 180 if value == 0 else value


class Rx(BaseModel):
    """Both eyes of a prescription."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    od: EyeRx
    os: EyeRx

    def eyes(self) -> tuple[tuple[str, EyeRx], tuple[str, EyeRx]]:
        """``(("od", od), ("os", os))``, the eye names being the JSON pointer segments."""
        return (("od", self.od), ("os", self.os))


def perpendicular_axis(axis: int) -> int:
    """The axis 90 degrees away, kept in 1..180 (30 -> 120, 90 -> 180, 180 -> 90)."""
    return axis + 90 if axis <= 90 else axis - 90


def transpose(eye: EyeRx) -> EyeRx:
    """The same lens written with the cylinder of the other sign.

    New sphere = sphere + cylinder, the cylinder changes sign, the axis turns 90 degrees
    (DOMAIN.md; -3.00 +2.00 x030 -> -1.00 -2.00 x120). A spherical lens (cylinder 0) is returned
    unchanged. Powers are quantised to the 0.25 D grid so repeated transposition does not drift.
    """
    if eye.cylinder == 0:
        return eye
    axis = perpendicular_axis(eye.axis) if eye.axis is not None else None
    return eye.model_copy(
        update={
            "sphere": quantise(eye.sphere + eye.cylinder),
            "cylinder": quantise(-eye.cylinder),
            "axis": axis,
        }
    )


def to_minus_cylinder_eye(eye: EyeRx) -> EyeRx:
    """The eye in minus-cylinder form (the form labs surface); unchanged when already so."""
    return transpose(eye) if eye.cylinder > 0 else eye


def to_minus_cylinder(rx: Rx) -> Rx:
    """Both eyes in minus-cylinder form."""
    return Rx(od=to_minus_cylinder_eye(rx.od), os=to_minus_cylinder_eye(rx.os))


def to_plus_cylinder(rx: Rx) -> Rx:
    """Both eyes in plus-cylinder form (the form some ophthalmologists write)."""
    return Rx(
        od=transpose(rx.od) if rx.od.cylinder < 0 else rx.od,
        os=transpose(rx.os) if rx.os.cylinder < 0 else rx.os,
    )


def spherical_equivalent(eye: EyeRx) -> float:
    """Sphere + cylinder / 2 (DOMAIN.md), the same in either cylinder form."""
    return eye.sphere + eye.cylinder / 2


def meridian_powers(eye: EyeRx) -> tuple[float, float]:
    """The powers of the two principal meridians: ``(sphere, sphere + cylinder)``."""
    return (eye.sphere, quantise(eye.sphere + eye.cylinder))


def principal_meridians(eye: EyeRx) -> tuple[tuple[int | None, float], tuple[int | None, float]]:
    """``((axis, sphere), (axis + 90, sphere + cylinder))``: each meridian's angle and power.

    Angles are None for a spherical lens without an axis (every meridian has the same power).
    """
    other = perpendicular_axis(eye.axis) if eye.axis is not None else None
    first, second = meridian_powers(eye)
    return ((eye.axis, first), (other, second))


def strongest_meridian_power(eye: EyeRx) -> float:
    """The power of the meridian furthest from zero, signed."""
    first, second = meridian_powers(eye)
    return first if abs(first) >= abs(second) else second


class PdForm(StrEnum):
    """How the distance PD is given (see :class:`EyeRx`)."""

    BINOCULAR = "binocular"
    MONOCULAR = "monocular"


#: Default near PD = distance PD minus this (DOMAIN.md): the eyes converge for reading.
NEAR_PD_REDUCTION_MM = {PdForm.BINOCULAR: 3.0, PdForm.MONOCULAR: 1.5}


def pd_form(rx: Rx) -> PdForm | None:
    """Monocular when both eyes carry a PD, binocular when exactly one does, None when neither."""
    given = [eye.pd is not None for _, eye in rx.eyes()]
    if all(given):
        return PdForm.MONOCULAR
    return PdForm.BINOCULAR if any(given) else None


def effective_near_pd(rx: Rx) -> tuple[float | None, float | None]:
    """(OD, OS) near PD: as given, or the default from the distance PD on the same eye."""
    form = pd_form(rx)
    if form is None:
        return (rx.od.near_pd, rx.os.near_pd)
    reduction = NEAR_PD_REDUCTION_MM[form]

    def near(eye: EyeRx) -> float | None:
        if eye.near_pd is not None or eye.pd is None:
            return eye.near_pd
        return eye.pd - reduction

    return (near(rx.od), near(rx.os))
