"""Prescription rules: powers, axis, add, prism, vertex distance and the pair of eyes.

Ranges and steps are DOMAIN.md "The prescription" (from lab order portals and ANSI Z80.1 practice):
sphere -20.00..+20.00 D, cylinder -10.00..+10.00 D, add +0.75..+4.00 D, all by 0.25 D; axis a whole
1..180 degrees; prism 0..15 prism dioptres by 0.25.
"""

from __future__ import annotations

from collections.abc import Iterator

from ils.domain.finding import Finding, Scale, check_scale, error, warning
from ils.domain.lens import MULTIFOCAL_TYPES, LensType
from ils.domain.rx import EyeRx, PrismBase, Rx, spherical_equivalent, strongest_meridian_power

SPHERE = Scale("sphere", -20.0, 20.0, 0.25, "D")
CYLINDER = Scale("cylinder", -10.0, 10.0, 0.25, "D")
ADD = Scale("add", 0.75, 4.0, 0.25, "D")
PRISM = Scale("prism", 0.0, 15.0, 0.25, "prism dioptres")
# Vertex distance: spectacle lenses sit about 10-14 mm from the cornea; 5..25 mm covers wrap and
# deep-set fits while catching a value typed in cm or with a digit missing. Not a grid: any value.
VERTEX_DISTANCE = Scale("vertex-distance", 5.0, 25.0, None, "mm")

AXIS_LOW, AXIS_HIGH = 1, 180
#: Above this power (either sign, any meridian) vertex distance changes the effective power enough
#: to matter (DOMAIN.md) and high index is the usual recommendation.
HIGH_POWER_D = 4.0
#: Spherical-equivalent difference between the eyes above which anisometropia is flagged.
ANISOMETROPIA_D = 3.0


def eye_power_rules(name: str, eye: EyeRx, lens_type: LensType) -> Iterator[Finding]:
    """Sphere, cylinder, axis and add of one eye."""
    at = f"/rx/{name}"
    yield from check_scale(eye.sphere, SPHERE, f"{at}/sphere")
    yield from check_scale(eye.cylinder, CYLINDER, f"{at}/cylinder")
    yield from axis_rules(at, eye)
    yield from add_rules(at, eye, lens_type)


def axis_rules(at: str, eye: EyeRx) -> Iterator[Finding]:
    """Axis required iff cylinder != 0; whole degrees 1..180 (0 was normalised to 180)."""
    if eye.axis is None:
        if eye.cylinder != 0:
            yield error(f"{at}/axis", "axis-required", "a cylinder needs an axis (1..180)")
        return
    if not AXIS_LOW <= eye.axis <= AXIS_HIGH:
        yield error(f"{at}/axis", "axis-out-of-range", f"axis {eye.axis} is outside 1..180 degrees")
    elif eye.cylinder == 0:
        yield warning(
            f"{at}/axis", "axis-without-cylinder", "an axis without cylinder has no effect"
        )


def add_rules(at: str, eye: EyeRx, lens_type: LensType) -> Iterator[Finding]:
    """Add required for multifocal lenses, refused for single vision."""
    if eye.add is None:
        if lens_type in MULTIFOCAL_TYPES:
            yield error(f"{at}/add", "add-required", f"a {lens_type} lens needs a near addition")
        return
    if lens_type not in MULTIFOCAL_TYPES:
        yield error(f"{at}/add", "add-not-allowed", "a single vision lens has no near addition")
        return
    yield from check_scale(eye.add, ADD, f"{at}/add")


def prism_rules(name: str, eye: EyeRx) -> Iterator[Finding]:
    """Each prism's amount and base; at most one horizontal and one vertical prism per eye."""
    seen: set[bool] = set()
    for index, prism in enumerate(eye.prism):
        at = f"/rx/{name}/prism/{index}"
        yield from check_scale(prism.amount, PRISM, f"{at}/amount")
        if prism.base is None:
            if prism.amount > 0:
                yield error(f"{at}/base", "prism-base-required", "a prism needs a base direction")
            continue
        if prism.amount == 0:
            yield warning(f"{at}/base", "prism-base-without-amount", "a zero prism has no base")
        if prism.base.horizontal in seen:
            direction = "horizontal" if prism.base.horizontal else "vertical"
            yield error(
                f"{at}/base",
                "prism-direction-repeated",
                f"only one {direction} prism per eye; combine them into one",
            )
        seen.add(prism.base.horizontal)


def vertex_rules(name: str, eye: EyeRx) -> Iterator[Finding]:
    """Vertex distance in range; warned when missing on a power beyond +/-4.00 D (DOMAIN.md)."""
    at = f"/rx/{name}/vertex_distance"
    if eye.vertex_distance is not None:
        yield from check_scale(eye.vertex_distance, VERTEX_DISTANCE, at)
    elif abs(strongest_meridian_power(eye)) > HIGH_POWER_D:
        yield warning(
            at,
            "vertex-distance-missing",
            f"a meridian exceeds +/-{HIGH_POWER_D:.2f} D: give the vertex distance",
        )


def pair_rules(rx: Rx) -> Iterator[Finding]:
    """Rules across both eyes: anisometropia and prisms that cancel each other."""
    difference = abs(spherical_equivalent(rx.od) - spherical_equivalent(rx.os))
    if difference > ANISOMETROPIA_D:
        yield warning(
            "/rx",
            "anisometropia",
            f"the eyes differ by {difference:.2f} D spherical equivalent "
            f"(> {ANISOMETROPIA_D:.2f} D): check the Rx and consider aniseikonia",
        )
    yield from _cancelling_prisms(rx)


# Base IN on both eyes adds up (both deviate toward the nose); IN on one eye and OUT on the other
# cancels. Vertically it is the reverse: UP on one eye and DOWN on the other adds up, the same base
# on both cancels. Standard binocular prism optics; a cancelling pair is almost always a slip.
_CANCELLING = {
    frozenset({PrismBase.IN, PrismBase.OUT}),
    frozenset({PrismBase.UP}),
    frozenset({PrismBase.DOWN}),
}


def _cancelling_prisms(rx: Rx) -> Iterator[Finding]:
    for horizontal in (True, False):
        od = _active_bases(rx.od, horizontal)
        os = _active_bases(rx.os, horizontal)
        if len(od) != 1 or len(os) != 1:
            continue
        (_, od_base), (os_index, os_base) = od[0], os[0]
        if frozenset({od_base, os_base}) in _CANCELLING:
            yield warning(
                f"/rx/os/prism/{os_index}/base",
                "prism-split-cancels",
                f"base {od_base} on OD and base {os_base} on OS partly cancel: check the bases",
            )


def _active_bases(eye: EyeRx, horizontal: bool) -> list[tuple[int, PrismBase]]:
    """(index, base) of the eye's non-zero prisms in one direction."""
    return [
        (index, p.base)
        for index, p in enumerate(eye.prism)
        if p.base is not None and p.amount > 0 and p.base.horizontal == horizontal
    ]
