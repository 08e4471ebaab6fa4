"""The dispensing assistant: Rx + clinical notes + catalog + lab history -> Good/Better/Best.

Order of decisions: parse (a refused Rx or an over-long note is a ValidationFailed, never a
guess); intents from the notes and the structured fields; hard clinical constraints; benefit from
intents and the lab's history; tiers. Each tier's reasons point at the Rx, the notes (quoted) and
the history (rates with their job counts). With no valid product the tier is the clinically
recommended configuration with ``product_id`` null and a reason saying no product matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ils.analytics.dispensing.catalog import MATERIALS, CatalogIndex, Product, configuration_key
from ils.analytics.dispensing.constraints import (
    ClinicalNeeds,
    clinical_needs,
    valid_mask,
    violations,
)
from ils.analytics.dispensing.intents import (
    Intent,
    driving_tags,
    extract_intents,
    structured_intents,
    summarise,
)
from ils.analytics.dispensing.manufacturing import ManufacturingModel
from ils.analytics.dispensing.notes import read_note
from ils.analytics.dispensing.prescription import (
    Frame,
    Patient,
    Prescription,
    parse_frame,
    parse_patient,
    parse_prescription,
)
from ils.analytics.dispensing.scoring import (
    INTENT_COATINGS,
    benefit,
    coating_reasons,
    coating_values,
    intent_weights,
    material_reason,
)
from ils.analytics.dispensing.tiers import TIERS, choose_tiers

_TIER_ROLE = {
    "good": "Good: the lowest-priced lens that meets every clinical requirement",
    "better": "Better: the most added benefit per extra unit of price over Good",
    "best": "Best: the most benefit for this patient among valid lenses",
}


@dataclass(frozen=True)
class DispensingRequest:
    rx: Prescription
    patient: Patient
    frame: Frame
    clinical_notes: str


def parse_request(body: Mapping[str, Any]) -> DispensingRequest:
    """The API body -> a request; ValidationFailed for a refused Rx, patient, frame or note."""
    notes = body.get("clinical_notes") or ""
    read_note(str(notes))  # refuses an over-long note before anything else is done
    return DispensingRequest(
        parse_prescription(body.get("rx") or {}),
        parse_patient(body.get("patient")),
        parse_frame(body.get("frame")),
        str(notes),
    )


@dataclass(frozen=True)
class _Context:
    request: DispensingRequest
    drivers: dict[str, Intent]
    needs: ClinicalNeeds
    model: ManufacturingModel | None


def _history_reason(product: Product, ctx: _Context) -> str:
    if ctx.model is None or ctx.model.jobs == 0:
        return "no lab history supplied: ranked without manufacturing outcomes"
    band = ctx.request.rx.power_band
    estimate = ctx.model.estimate(configuration_key(product), band)
    if not estimate.known:
        return (
            f"lab history: too few jobs ({estimate.jobs}) for this configuration at {band} "
            f"to estimate rates (minimum {ctx.model.min_jobs}); no adjustment"
        )
    rates = "; ".join(r.describe(o.replace("_", "-")) for o, r in estimate.rates.items())
    lead = (
        f"; lead time median {estimate.lead_time_median_days:.1f} d, "
        f"90th percentile {estimate.lead_time_p90_days:.1f} d"
        if estimate.lead_time_median_days is not None
        else ""
    )
    return f"lab history ({estimate.level}, {band}): {rates}{lead}"


def _fit_reason(product: Product, ctx: _Context) -> list[str]:
    if product.lens_type != "progressive" or ctx.needs.fitting_height is None:
        return []
    minimum = product.min_fitting_height
    text = f"fitting height {ctx.needs.fitting_height:g} mm >= design minimum " + (
        f"{minimum:g} mm" if minimum is not None else "17 mm (assumed: none given)"
    )
    if ctx.needs.frame_b is not None:
        text += f"; frame B {ctx.needs.frame_b:g} mm"
    return [text]


def _product_rec(tier: str, product: Product, score: float, ctx: _Context) -> dict[str, Any]:
    assert not violations(product, ctx.needs), "a tier must never break a hard constraint"
    reasons = [_TIER_ROLE[tier]]
    reasons += [f"required: {r.detail}" for r in ctx.needs.requirements]
    reasons.append(material_reason(product, ctx.request.rx.strongest_meridian, ctx.drivers))
    reasons += _fit_reason(product, ctx)
    reasons += coating_reasons(product, ctx.drivers)
    reasons.append(_history_reason(product, ctx))
    reasons.append("in stock" if product.in_stock else "not in stock: supplier lead time applies")
    api = product.as_api()
    return {
        "product_id": product.sku,
        "name": product.name,
        "lens_type": product.lens_type,
        "material": product.material,
        "design": product.design,
        "coatings": api["coatings"],
        "price": api["price"],
        "in_stock": product.in_stock,
        "benefit": round(float(score), 3),
        "reasons": reasons,
    }


def _recommended_lens_type(ctx: _Context) -> str:
    types = ctx.needs.lens_types
    if "previous_non_adapt" in ctx.drivers and "bifocal" in types:
        return "bifocal"
    return "progressive" if "progressive" in types else types[0]


def _recommended_material(ctx: _Context) -> str:
    """Lightest allowed material that is at least as thin as the power calls for."""
    allowed = ctx.needs.materials
    if "cosmetic_thickness" in ctx.drivers:
        return max(allowed, key=lambda m: (MATERIALS[m].index, -MATERIALS[m].specific_gravity))
    return min(allowed, key=lambda m: (MATERIALS[m].specific_gravity, -MATERIALS[m].index))


def _configuration_rec(tier: str, ctx: _Context, why: str) -> dict[str, Any]:
    """The clinically recommended configuration for a tier that no product fills."""
    material = _recommended_material(ctx)
    values = coating_values(intent_weights(ctx.drivers))
    floor = {"good": 1.0, "better": 0.6, "best": 0.3}[tier]
    coatings = {c for c, v in values.items() if v >= floor}
    if MATERIALS[material].index >= 1.60:
        coatings.add("ar")
    reasons = [why, *(f"required: {r.detail}" for r in ctx.needs.requirements)]
    reasons.append(material_reason_for(material, ctx))
    reasons += [
        f"{c} recommended for {t} ({i.evidence!r})"
        for c in sorted(coatings)
        for t, i in ctx.drivers.items()
        if c in _intent_coatings(t)
    ]
    return {
        "product_id": None,
        "lens_type": _recommended_lens_type(ctx),
        "material": material,
        "coatings": sorted(coatings),
        "price": None,
        "in_stock": None,
        "reasons": reasons,
    }


def _intent_coatings(tag: str) -> set[str]:
    return {c for c, v in INTENT_COATINGS.get(tag, {}).items() if v > 0}


def material_reason_for(material: str, ctx: _Context) -> str:
    m = MATERIALS[material]
    return (
        f"{material} (index {m.index:.2f}) for a strongest meridian of "
        f"{ctx.request.rx.strongest_meridian:.2f} D"
    )


def _suggested(drivers: Mapping[str, Intent], tiers: Mapping[str, dict[str, Any]]) -> str:
    wanted = "good" if "budget_sensitive" in drivers else "better"
    if "premium_preference" in drivers:
        wanted = "best"
    filled = [t for t in TIERS if tiers[t]["product_id"] is not None]
    if wanted in filled or not filled:
        return wanted
    return filled[-1] if wanted == "best" else filled[0]


def recommend(
    request: DispensingRequest,
    catalog: CatalogIndex,
    history: ManufacturingModel | None = None,
) -> dict[str, Any]:
    """Good/Better/Best for one patient, in the API.md response shape (plus explanations)."""
    reading = read_note(request.clinical_notes)
    mentions = extract_intents(reading) + structured_intents(
        request.patient.age, request.frame.type, request.patient.occupation
    )
    drivers = driving_tags(mentions)
    needs = clinical_needs(request.rx, request.frame, drivers)
    ctx = _Context(request, drivers, needs, history)
    weights = intent_weights(drivers)
    tiers: dict[str, dict[str, Any]] = {}
    if len(catalog):
        valid = valid_mask(catalog, needs)
        excess = None
        if history is not None:
            excess = history.excess_columns(catalog.configurations, request.rx.power_band)
        score = benefit(catalog, request.rx.max_power, weights, excess)
        choice = choose_tiers(valid, catalog.in_stock, catalog.price, score)
        for tier, pos in zip(TIERS, choice.positions, strict=True):
            if pos is not None:
                tiers[tier] = _product_rec(tier, catalog.products[pos], score[pos], ctx)
        n_valid = int(np.count_nonzero(valid))
    else:
        n_valid = 0
    why = (
        "no product in the catalog matched: the catalog is empty"
        if not len(catalog)
        else f"no product in the catalog matched this tier ({n_valid} of {len(catalog)} "
        "products meet every clinical requirement)"
    )
    for tier in TIERS:
        tiers.setdefault(tier, _configuration_rec(tier, ctx, why))
    return {
        "intents": [i.as_api() for i in summarise(mentions)],
        "tiers": {t: tiers[t] for t in TIERS},
        "suggested_tier": _suggested(drivers, tiers),
        "clinical_requirements": [{"code": r.code, "detail": r.detail} for r in needs.requirements],
        "warnings": [*reading.warnings, *needs.warnings],
    }
