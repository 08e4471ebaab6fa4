"""Production stations of a surfacing lab and a job's route through them (DOMAIN.md)."""

from __future__ import annotations

from enum import StrEnum


class Station(StrEnum):
    ORDER_ENTRY = "order_entry"
    PICKING = "picking"
    SURFACING = "surfacing"
    HARD_COAT = "hard_coat"
    AR_COAT = "ar_coat"
    TINTING = "tinting"
    EDGING = "edging"
    MOUNTING = "mounting"
    FINAL_INSPECTION = "final_inspection"
    SHIPPING = "shipping"


#: The full line, in order. Every route is a subsequence of it.
LINE: tuple[Station, ...] = tuple(Station)

TINT_COATINGS = frozenset({"tint"})
AR_COATINGS = frozenset({"ar"})


def route(
    lens_type: str, coatings: frozenset[str] | set[str], stock: bool = False
) -> list[Station]:
    """The stations a job visits, in order.

    Stock (finished) single-vision lenses skip surfacing and hard coat; ``ar_coat`` only for
    AR-coated jobs and ``tinting`` only for tinted jobs.
    """
    skip: set[Station] = set()
    if stock and lens_type == "single_vision":
        skip |= {Station.SURFACING, Station.HARD_COAT}
    if not (set(coatings) & AR_COATINGS):
        skip.add(Station.AR_COAT)
    if not (set(coatings) & TINT_COATINGS):
        skip.add(Station.TINTING)
    return [s for s in LINE if s not in skip]
