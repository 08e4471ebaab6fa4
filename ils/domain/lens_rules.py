"""Lens choice rules: material and coatings against the Rx and the frame (DOMAIN.md, lenses).

These are dispensing advice, so apart from a repeated coating they are warnings: the order is
accepted and the practice sees why another choice is usually better.
"""

from __future__ import annotations

from collections.abc import Iterator

from ils.domain.finding import Finding, error, warning
from ils.domain.lens import (
    DRILL_SAFE_MATERIALS,
    MATERIALS,
    Coating,
    Frame,
    FrameType,
    Lens,
    Material,
)
from ils.domain.rx import Rx, strongest_meridian_power
from ils.domain.rx_rules import HIGH_POWER_D

#: "High index always with AR" (DOMAIN.md). Fresnel reflectance per surface, ((n - 1) / (n + 1))^2,
#: is 4.0% at n = 1.50, 5.3% at 1.60, 6.3% at 1.67 and 7.3% at 1.74, per surface.
AR_RECOMMENDED_FROM_INDEX = 1.60
_RIMLESS = frozenset({FrameType.RIMLESS, FrameType.SEMI_RIMLESS})


def lens_rules(rx: Rx, lens: Lens, frame: Frame) -> Iterator[Finding]:
    """Coatings listed once; high index for high powers; AR on high index; rimless material."""
    seen: set[Coating] = set()
    for index, coating in enumerate(lens.coatings):
        if coating in seen:
            yield error(
                f"/lens/coatings/{index}", "coating-duplicate", f"{coating} is listed twice"
            )
        seen.add(coating)
    strongest = max(abs(strongest_meridian_power(eye)) for _, eye in rx.eyes())
    if lens.material is Material.CR39 and strongest > HIGH_POWER_D:
        yield warning(
            "/lens/material",
            "high-index-recommended",
            f"a meridian of {strongest:.2f} D exceeds +/-{HIGH_POWER_D:.2f} D: "
            "a high-index material makes a thinner, lighter lens",
        )
    if MATERIALS[lens.material].index >= AR_RECOMMENDED_FROM_INDEX and Coating.AR not in seen:
        yield warning(
            "/lens/coatings",
            "ar-recommended",
            f"{lens.material} reflects more light than CR-39: add an anti-reflective coating",
        )
    if frame.type in _RIMLESS and lens.material is Material.CR39:
        yield warning(
            "/lens/material",
            "rimless-material",
            f"{frame.type} mounts stress the lens edge and CR-39 cracks at drill holes: "
            f"choose {' or '.join(sorted(DRILL_SAFE_MATERIALS))}",
        )
