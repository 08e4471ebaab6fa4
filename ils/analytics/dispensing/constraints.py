"""Hard clinical constraints (DOMAIN.md "Lens products" and the Rx table): a product that breaks
one is never recommended, whatever the notes or the price.

- material by power: above +/-4.00 D index >= 1.59 (polycarbonate, 1.60, 1.67, 1.74); above
  +/-6.00 D 1.67 or 1.74;
- impact-resistant material (polycarbonate, Trivex) for children, sport, safety and drilled
  rimless frames; it wins over the high-index rule (above 4.00 D: polycarbonate only);
- high index (1.60 and above) always with AR;
- multifocal types only with an add, and single vision only without;
- bifocal and progressive need a fitting height; progressive needs fitting height >= the design's
  minimum and frame B >= 28 mm (22 mm for short-corridor designs).

Only certain, affirmed intents about the patient impose a constraint; uncertain ones only score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from ils.analytics.dispensing.catalog import MATERIALS, MULTIFOCAL, CatalogIndex, Product
from ils.analytics.dispensing.intents import Intent
from ils.analytics.dispensing.prescription import (
    HIGH_POWER,
    VERY_HIGH_POWER,
    Frame,
    Prescription,
)

IMPACT_TAGS: Final = ("child_wearer", "outdoor_sport", "occupational_safety", "rimless_frame")
AR_INDEX: Final = 1.60
HIGH_INDEX_MIN: Final = 1.59
VERY_HIGH_INDEX_MIN: Final = 1.67
DEFAULT_MIN_FITTING_HEIGHT: Final = 17.0  # DOMAIN.md: a design's minimum is typically 14-17 mm
MIN_FRAME_B: Final = 28.0
MIN_FRAME_B_SHORT: Final = 22.0
IMPACT_MATERIALS: Final = tuple(m for m, v in MATERIALS.items() if v.impact_resistant)


@dataclass(frozen=True)
class Requirement:
    code: str
    detail: str


@dataclass(frozen=True)
class ClinicalNeeds:
    lens_types: tuple[str, ...]
    materials: tuple[str, ...]
    fitting_height: float | None
    frame_b: float | None
    requirements: tuple[Requirement, ...]
    warnings: tuple[str, ...]

    @property
    def impact_required(self) -> bool:
        return any(r.code == "impact-resistant" for r in self.requirements)


def _impact_drivers(drivers: Mapping[str, Intent]) -> list[str]:
    return [
        f"{tag} ({drivers[tag].evidence!r})"
        for tag in IMPACT_TAGS
        if tag in drivers and not drivers[tag].uncertain
    ]


def _materials(rx: Prescription, impact: list[str]) -> tuple[tuple[str, ...], list[Requirement]]:
    power = rx.max_power
    reqs = []
    allowed = tuple(MATERIALS)
    if impact:
        allowed = IMPACT_MATERIALS
        reqs.append(
            Requirement("impact-resistant", "polycarbonate or Trivex: " + ", ".join(impact))
        )
    if power > VERY_HIGH_POWER and not impact:
        allowed = tuple(m for m in allowed if MATERIALS[m].index >= VERY_HIGH_INDEX_MIN)
        reqs.append(Requirement("very-high-index", f"1.67/1.74 for {power:.2f} D"))
    elif power > HIGH_POWER:
        allowed = tuple(m for m in allowed if MATERIALS[m].index >= HIGH_INDEX_MIN)
        reqs.append(Requirement("high-index", f"index >= 1.59 for {power:.2f} D"))
    return allowed, reqs


def _lens_types(
    rx: Prescription, frame: Frame
) -> tuple[tuple[str, ...], list[Requirement], list[str]]:
    if rx.add is None:
        return ("single_vision",), [Requirement("single-vision", "no add in the Rx")], []
    reqs = [Requirement("multifocal", f"add +{rx.add:.2f} D")]
    warnings = []
    if rx.fitting_height is None:
        warnings.append("no fitting height: bifocal and progressive lenses cannot be checked")
        return ("occupational",), reqs, warnings
    if frame.b is None:
        warnings.append("frame depth (B) unknown: check B >= 28 mm (22 mm short corridor)")
    reqs.append(
        Requirement("fitting-height", f"progressive design minimum <= {rx.fitting_height:g} mm")
    )
    return tuple(sorted(MULTIFOCAL)), reqs, warnings


def clinical_needs(rx: Prescription, frame: Frame, drivers: Mapping[str, Intent]) -> ClinicalNeeds:
    """What any recommended product must satisfy for this patient."""
    materials, material_reqs = _materials(rx, _impact_drivers(drivers))
    types, type_reqs, warnings = _lens_types(rx, frame)
    if any(MATERIALS[m].index >= AR_INDEX for m in materials):
        material_reqs.append(Requirement("ar-with-high-index", "index 1.60 and above with AR"))
    return ClinicalNeeds(
        types, materials, rx.fitting_height, frame.b, (*material_reqs, *type_reqs), tuple(warnings)
    )


def violations(product: Product, needs: ClinicalNeeds) -> list[str]:
    """The hard constraints ``product`` breaks (empty: it may be recommended)."""
    broken = []
    if product.lens_type not in needs.lens_types:
        broken.append("lens-type")
    if product.material not in needs.materials:
        broken.append("material")
    if MATERIALS[product.material].index >= AR_INDEX and "ar" not in product.coatings:
        broken.append("ar-with-high-index")
    if product.lens_type == "progressive" and needs.fitting_height is not None:
        minimum = product.min_fitting_height
        if minimum is None:
            minimum = DEFAULT_MIN_FITTING_HEIGHT
        if needs.fitting_height < minimum:
            broken.append("fitting-height")
        depth = MIN_FRAME_B_SHORT if product.short_corridor else MIN_FRAME_B
        if needs.frame_b is not None and needs.frame_b < depth:
            broken.append("frame-depth")
    return broken


def valid_mask(index: CatalogIndex, needs: ClinicalNeeds) -> npt.NDArray[np.bool_]:
    """``violations(p) == []`` for every product of the index, as one array operation."""
    ok = index.type_in(needs.lens_types) & np.isin(index.material, list(needs.materials))
    ok &= (index.index < AR_INDEX) | index.coating["ar"]
    progressive = index.lens_type == "progressive"
    if needs.fitting_height is not None:
        minimum = np.where(
            np.isnan(index.min_fitting_height), DEFAULT_MIN_FITTING_HEIGHT, index.min_fitting_height
        )
        ok &= ~progressive | (needs.fitting_height >= minimum)
        if needs.frame_b is not None:
            depth = np.where(index.short_corridor, MIN_FRAME_B_SHORT, MIN_FRAME_B)
            ok &= ~progressive | (needs.frame_b >= depth)
    return ok
