"""Optical quantities as strict pydantic types, and the step arithmetic prescriptions use.

Prescriptions are written on fixed grids (0.25 D for powers, 0.5 mm for fitting measurements,
DOMAIN.md "The prescription"). Every multiple of 0.25 or 0.5 is exact in binary floating point, so
the only drift comes from values typed off the grid or from arithmetic on them; :func:`on_step` and
:func:`quantise` compare and round with a tolerance instead of testing float equality.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

#: A number where a number is expected: strings and booleans are refused, ints are accepted,
#: NaN and infinities are refused. Used for every measured or prescribed value. The magnitude
#: bound (far outside any clinical range, which the validator judges) keeps arithmetic on two
#: values finite: 1e308 + 1e308 would overflow to infinity and fail the request.
StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e6, le=1e6)]

#: Lens power in dioptres (D).
Dioptres = StrictNumber
#: Prism in prism dioptres.
PrismDioptres = StrictNumber
#: A length in millimetres.
Millimetres = StrictNumber
#: An axis in whole degrees.
Degrees = Annotated[int, Field(strict=True)]

POWER_STEP = 0.25
MM_STEP = 0.5
_TOLERANCE = 1e-6


def on_step(value: float, step: float) -> bool:
    """True when ``value`` is a whole number of ``step`` (within 1e-6 of a step)."""
    ratio = value / step
    return abs(ratio - round(ratio)) <= _TOLERANCE


def quantise(value: float, step: float = POWER_STEP) -> float:
    """Snap ``value`` to the ``step`` grid when it is on it (up to float noise).

    Off-grid values are rounded to 0.01 instead (the precision of a DCS record), so quantising
    never silently changes a prescription by a visible amount.
    """
    snapped = round(value / step) * step
    if abs(snapped - value) <= _TOLERANCE * step:
        return snapped + 0.0  # turn -0.0 into 0.0
    return round(value, 2) + 0.0
