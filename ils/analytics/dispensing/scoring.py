"""How much a valid product serves this patient: the benefit score behind Good/Better/Best.

Benefit = coatings the patient's intents call for + material (thinness for the power, weight,
impact resistance) + design (aspheric for higher powers, progressive design grade, occupational
lenses for near and screen work) - what the lab's history says goes wrong with the configuration
more often than with other lenses of its type. The weights below are the dispensing judgement of
this module (ranking preferences, not measured figures); every rate comes from the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from ils.analytics.dispensing.catalog import COATINGS, MATERIALS, CatalogIndex, Product
from ils.analytics.dispensing.intents import Intent

UNCERTAIN_WEIGHT: Final = 0.5

BASE_COATINGS: Final = {"ar": 1.0, "hard": 0.6, "uv": 0.3, "blue_light": 0.1, "photochromic": 0.1}
INTENT_COATINGS: Final[dict[str, dict[str, float]]] = {
    "screen_work": {"ar": 0.6, "blue_light": 0.4},
    "near_work": {"ar": 0.3},
    "night_driving": {"ar": 1.0, "polarized": -1.5, "tint": -1.5, "mirror": -1.0},
    "glare_sensitivity": {"ar": 0.8, "polarized": 0.5},
    "driving_for_work": {"ar": 0.5, "polarized": 0.5, "photochromic": -0.5},
    "outdoor_sport": {"polarized": 0.6, "photochromic": 0.5, "hard": 0.4, "uv": 0.4},
    "uv_exposure": {"uv": 1.0, "photochromic": 0.6, "polarized": 0.5},
    "light_sensitivity": {"photochromic": 1.0, "tint": 0.5, "polarized": 0.4},
    "occupational_safety": {"hard": 0.8},
    "child_wearer": {"hard": 0.8, "uv": 0.4},
    "eye_strain_headache": {"ar": 0.6, "blue_light": 0.2},
    "frequent_lens_scratching": {"hard": 1.2},
    "swimming_water_sports": {"polarized": 0.6, "hard": 0.4, "uv": 0.4},
    "premium_preference": {"ar": 0.2},
}
# Extra weight on a history outcome per unit of excess rate, and intents that make it matter more.
OUTCOME_WEIGHTS: Final = {"breakage": 4.0, "remake": 8.0, "non_adapt": 8.0}
ADAPTATION_TAGS: Final = ("previous_non_adapt", "first_progressive")


def intent_weights(drivers: Mapping[str, Intent]) -> dict[str, float]:
    """Tag -> 1.0 for a certain mention, 0.5 for an uncertain one."""
    return {t: UNCERTAIN_WEIGHT if i.uncertain else 1.0 for t, i in drivers.items()}


def coating_values(weights: Mapping[str, float]) -> dict[str, float]:
    values = {c: BASE_COATINGS.get(c, 0.0) for c in COATINGS}
    for tag, w in weights.items():
        for coating, value in INTENT_COATINGS.get(tag, {}).items():
            values[coating] += w * value
    return values


def _material(index: CatalogIndex, power: float, w: Mapping[str, float]) -> npt.NDArray[np.float64]:
    thin = (index.index - 1.50) * min(power, 10.0) / 2 * (1 + w.get("cosmetic_thickness", 0.0))
    light = (1.31 - index.gravity) * 3 * (1 + 2 * w.get("weight_comfort", 0.0))
    impact_want = max(
        [w.get(t, 0.0) for t in ("outdoor_sport", "swimming_water_sports", "child_wearer")]
    )
    return np.asarray(thin + light + 0.8 * impact_want * index.impact, dtype=float)


def _design(index: CatalogIndex, power: float, w: Mapping[str, float]) -> npt.NDArray[np.float64]:
    adapt = 1 + sum(w.get(t, 0.0) for t in ADAPTATION_TAGS)
    grade = 0.6 * index.design_grade * adapt * (index.lens_type == "progressive")
    aspheric = index.aspheric * (0.5 if power > 2 else 0.0) * (1 + w.get("cosmetic_thickness", 0))
    near = max(w.get("screen_work", 0.0), w.get("near_work", 0.0))
    occupational = (index.lens_type == "occupational") * 0.8 * near
    fallback = (index.lens_type != "progressive") * 0.6 * w.get("previous_non_adapt", 0.0)
    return np.asarray(grade + aspheric + occupational + fallback, dtype=float)


def history_penalty(
    excess: Mapping[str, npt.NDArray[np.float64]], w: Mapping[str, float]
) -> npt.NDArray[np.float64]:
    adapt = 1 + sum(w.get(t, 0.0) for t in ADAPTATION_TAGS)
    total = np.zeros_like(next(iter(excess.values()))) if excess else np.zeros(0)
    for outcome, column in excess.items():
        factor = adapt if outcome == "non_adapt" else 1.0
        total = total + OUTCOME_WEIGHTS[outcome] * factor * column
    return total


def benefit(
    index: CatalogIndex,
    power: float,
    weights: Mapping[str, float],
    excess: Mapping[str, npt.NDArray[np.float64]] | None = None,
) -> npt.NDArray[np.float64]:
    """Benefit of every product of the index (higher is better for this patient)."""
    values = coating_values(weights)
    score = np.zeros(len(index))
    for coating, value in values.items():
        score += value * index.coating[coating]
    score += _material(index, power, weights) + _design(index, power, weights)
    if excess:
        score -= history_penalty(excess, weights)[index.configuration_id]
    return score


def coating_reasons(product: Product, drivers: Mapping[str, Intent]) -> list[str]:
    """Which coatings of ``product`` serve which intent, quoting the notes."""
    reasons = []
    for coating in sorted(product.coatings):
        served = [
            f"{tag} ({intent.evidence!r}{', uncertain' if intent.uncertain else ''})"
            for tag, intent in drivers.items()
            if INTENT_COATINGS.get(tag, {}).get(coating, 0.0) > 0
        ]
        if served:
            reasons.append(f"{coating} for " + ", ".join(served))
    return reasons


MATERIAL_TAGS: Final = (
    "cosmetic_thickness",
    "weight_comfort",
    "outdoor_sport",
    "swimming_water_sports",
    "child_wearer",
)


def material_reason(product: Product, power: float, drivers: Mapping[str, Intent]) -> str:
    m = MATERIALS[product.material]
    served = [f"{t} ({drivers[t].evidence!r})" for t in MATERIAL_TAGS if t in drivers]
    return (
        f"{product.material} (index {m.index:.2f}, specific gravity {m.specific_gravity:.2f}"
        f"{', impact-resistant' if m.impact_resistant else ''}) for a strongest meridian of "
        f"{power:.2f} D" + ("; considers " + ", ".join(served) if served else "")
    )
