"""Lens products and frames of an order (API.md "Orders", DOMAIN.md "Lens products").

The vocabulary is closed: lens types, materials, coatings and frame types are string enums whose
values are the JSON values of the API. Frame measurements are optional at the model level so that
the domain validator can report a missing one with a pointer (``/frame/b``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ils.domain.quantity import Millimetres


class LensType(StrEnum):
    SINGLE_VISION = "single_vision"
    BIFOCAL = "bifocal"
    PROGRESSIVE = "progressive"
    OCCUPATIONAL = "occupational"


#: Lens types with a near addition (DOMAIN.md: add required for these, refused for single vision).
MULTIFOCAL_TYPES = frozenset({LensType.BIFOCAL, LensType.PROGRESSIVE, LensType.OCCUPATIONAL})
#: Lens types fitted by a segment / fitting height (DOMAIN.md: required for these).
HEIGHT_FITTED_TYPES = frozenset({LensType.BIFOCAL, LensType.PROGRESSIVE})


class Material(StrEnum):
    CR39 = "cr39"
    INDEX_156 = "1.56"
    INDEX_160 = "1.60"
    INDEX_167 = "1.67"
    INDEX_174 = "1.74"
    POLYCARBONATE = "polycarbonate"
    TRIVEX = "trivex"


@dataclass(frozen=True)
class MaterialProperties:
    """Refractive index, Abbe value and specific gravity of a lens material."""

    index: float
    abbe: float
    specific_gravity: float


#: DOMAIN.md "Lens products" (index / Abbe / specific gravity, the usual catalogue figures).
MATERIALS: dict[Material, MaterialProperties] = {
    Material.CR39: MaterialProperties(1.50, 58, 1.31),
    Material.INDEX_156: MaterialProperties(1.56, 37, 1.23),
    Material.INDEX_160: MaterialProperties(1.60, 41, 1.30),
    Material.INDEX_167: MaterialProperties(1.67, 32, 1.37),
    Material.INDEX_174: MaterialProperties(1.74, 33, 1.47),
    Material.POLYCARBONATE: MaterialProperties(1.59, 30, 1.20),
    Material.TRIVEX: MaterialProperties(1.53, 44, 1.11),
}

#: Impact-resistant materials that tolerate drilling (DOMAIN.md: drilled rimless frames).
DRILL_SAFE_MATERIALS = frozenset({Material.POLYCARBONATE, Material.TRIVEX})


class Coating(StrEnum):
    AR = "ar"
    HARD = "hard"
    BLUE_LIGHT = "blue_light"
    PHOTOCHROMIC = "photochromic"
    POLARIZED = "polarized"
    UV = "uv"
    TINT = "tint"


class FrameType(StrEnum):
    FULL_RIM = "full_rim"
    SEMI_RIMLESS = "semi_rimless"
    RIMLESS = "rimless"


class Lens(BaseModel):
    """The ordered lens: type, material, coatings and an optional product/design code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: LensType
    material: Material
    coatings: tuple[Coating, ...] = ()
    design: str | None = Field(default=None, min_length=1, max_length=64)


class Frame(BaseModel):
    """The frame in the boxing system: A (box width), B (box depth), DBL (bridge), ED."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: FrameType
    a: Millimetres | None = None
    b: Millimetres | None = None
    dbl: Millimetres | None = None
    ed: Millimetres | None = None
