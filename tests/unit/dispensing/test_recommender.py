"""Recommender: the classic dispensing cases, bad input, and the shape of the answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ils.analytics.dispensing.catalog import CatalogIndex, Product
from ils.analytics.dispensing.manufacturing import JobOutcome, ManufacturingModel
from ils.analytics.dispensing.recommender import parse_request, recommend
from ils.errors import ValidationFailed
from tests.unit.dispensing.products import product

SV = [
    product("SV-CR39", coatings=("hard",), price="40"),
    product("SV-CR39-AR", coatings=("hard", "ar"), price="60"),
    product("SV-156-AR", material="1.56", coatings=("hard", "ar"), price="80"),
    product("SV-160-AR", material="1.60", coatings=("hard", "ar"), price="110", design="aspheric"),
    product("SV-167-AR", material="1.67", coatings=("hard", "ar", "uv"), price="160",
            design="aspheric"),
    product("SV-174-AR", material="1.74", coatings=("hard", "ar", "uv", "blue_light"),
            price="260", design="aspheric"),
    product("SV-174", material="1.74", coatings=("hard",), price="120"),
    product("SV-PC", material="polycarbonate", coatings=("hard", "ar"), price="90"),
    product("SV-PC-UV", material="polycarbonate", coatings=("hard", "ar", "uv"), price="120"),
    product("SV-TRX", material="trivex", coatings=("hard",), price="85"),
    product("SV-TRX-AR", material="trivex", coatings=("hard", "ar", "uv"), price="140"),
]  # fmt: skip
PAL = [
    product("PAL-STD", "progressive", "1.60", ("hard", "ar"), "180", min_fitting_height=18),
    product("PAL-DIG", "progressive", "1.60", ("hard", "ar"), "260", design="digital",
            min_fitting_height=17),
    product("PAL-PREM", "progressive", "1.67", ("hard", "ar", "uv"), "380", design="premium",
            min_fitting_height=16),
    product("PAL-SHORT", "progressive", "1.60", ("hard", "ar"), "240", design="digital short",
            min_fitting_height=14),
    product("PAL-SHORT-PREM", "progressive", "1.67", ("hard", "ar", "uv"), "340",
            design="premium short", min_fitting_height=13),
    product("BF-CR39", "bifocal", "cr39", ("hard",), "90"),
    product("OCC-CR39", "occupational", "cr39", ("hard", "ar"), "150"),
]  # fmt: skip
CATALOG = CatalogIndex(SV + PAL)


def eye(sphere: float, **kw: Any) -> dict[str, Any]:
    return {"sphere": sphere, **kw}


def ask(rx: dict[str, Any], notes: str = "", **extra: Any) -> dict[str, Any]:
    body = {"rx": rx, "clinical_notes": notes, **extra}
    return recommend(parse_request(body), CATALOG)


def products(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [answer["tiers"][t] for t in ("good", "better", "best")]


def test_high_minus_gets_very_high_index_with_ar() -> None:
    answer = ask({"od": eye(-8.0), "os": eye(-7.5)}, "Wants thin lenses.")
    for rec in products(answer):
        assert rec["material"] in ("1.67", "1.74") and "ar" in rec["coatings"]
    assert answer["tiers"]["good"]["product_id"] == "SV-167-AR"


def test_child_gets_impact_resistant_material_only() -> None:
    answer = ask({"od": eye(-1.5), "os": eye(-1.25)}, "", patient={"age": 8})
    assert {r["material"] for r in products(answer) if r["product_id"]} <= {
        "polycarbonate",
        "trivex",
    }
    assert any(i["tag"] == "child_wearer" for i in answer["intents"])


def test_rimless_frame_needs_impact_resistance_and_high_power_means_polycarbonate() -> None:
    answer = ask({"od": eye(-5.0), "os": eye(-4.75)}, "", frame={"type": "rimless", "b": 30})
    assert {r["material"] for r in products(answer) if r["product_id"]} == {"polycarbonate"}


def test_presbyope_with_a_short_frame_gets_a_short_corridor_design() -> None:
    rx = {"od": eye(1.0, add=2.0, seg_height=15.0), "os": eye(1.0, add=2.0, seg_height=15.0)}
    answer = ask(rx, "First progressive.", frame={"type": "full_rim", "b": 25})
    progressives = [r for r in products(answer) if r["lens_type"] == "progressive"]
    assert progressives and {r["product_id"] for r in progressives} <= {
        "PAL-SHORT",
        "PAL-SHORT-PREM",
    }
    assert all(r["lens_type"] != "single_vision" for r in products(answer))


def test_single_vision_never_offered_multifocals() -> None:
    answer = ask({"od": eye(-2.0), "os": eye(-2.0)}, "Reads a lot.")
    assert {r["lens_type"] for r in products(answer)} == {"single_vision"}


def test_tiers_are_distinct_and_ascend_in_price_and_benefit() -> None:
    answer = ask({"od": eye(-2.0), "os": eye(-2.5)}, "Computer all day. Drives at night.")
    recs = products(answer)
    assert len({r["product_id"] for r in recs}) == 3
    prices = [Decimal(r["price"]["amount"]) for r in recs]
    assert prices == sorted(prices) and len(set(prices)) == 3
    assert [r["benefit"] for r in recs] == sorted(r["benefit"] for r in recs)


def test_negated_intent_does_not_drive_coatings() -> None:
    said = ask({"od": eye(-1.0), "os": eye(-1.0)}, "Computer all day.")
    denied = ask({"od": eye(-1.0), "os": eye(-1.0)}, "Never uses a computer.")
    assert [i["negated"] for i in denied["intents"]] == [True]
    assert any("screen_work" in r for rec in products(said) for r in rec["reasons"])
    assert not any("screen_work" in r for rec in products(denied) for r in rec["reasons"])


def test_empty_catalog_answers_the_clinical_configuration_without_product() -> None:
    body = {"rx": {"od": eye(-7.0), "os": eye(-7.0)}, "clinical_notes": "Plays rugby."}
    answer = recommend(parse_request(body), CatalogIndex([]))
    for rec in products(answer):
        assert rec["product_id"] is None and rec["price"] is None
        assert rec["material"] == "polycarbonate"
        assert "no product in the catalog matched" in rec["reasons"][0]


def test_refused_rx_is_a_validation_error_not_a_recommendation() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_request({"rx": {"od": eye(-30.0), "os": eye(-1.0, cylinder=-1.0)}})
    assert {i.pointer for i in caught.value.issues} == {"/rx/od/sphere", "/rx/os/axis"}


def test_foreign_notes_are_said_to_be_uninterpreted() -> None:
    answer = ask({"od": eye(-1.0), "os": eye(-1.0)}, "El paciente conduce de noche con la luz.")
    assert answer["intents"] == [] and "not in English" in answer["warnings"][0]
    assert answer["tiers"]["good"]["product_id"] is not None


def history(design: str, bad: int, n: int = 60) -> list[JobOutcome]:
    return [
        JobOutcome("progressive", "1.60", design, frozenset({"ar", "hard"}), 1.0,
                   breakage=False, remake=i < bad, non_adapt=i < bad)
        for i in range(n)
    ]  # fmt: skip


def test_lab_history_demotes_a_design_that_is_often_remade() -> None:
    rx = {"od": eye(1.0, add=2.0, seg_height=20.0), "os": eye(1.0, add=2.0, seg_height=20.0)}
    request = parse_request({"rx": rx, "clinical_notes": "", "frame": {"b": 32}})
    shelf = CatalogIndex([p for p in PAL if p.sku in ("PAL-STD", "PAL-DIG")])
    plain = recommend(request, shelf)
    model = ManufacturingModel.fit(history("digital", 30) + history("standard", 0))
    ranked = recommend(request, shelf, model)
    assert plain["tiers"]["best"]["product_id"] == "PAL-DIG"
    assert ranked["tiers"]["good"]["product_id"] == "PAL-STD"
    assert ranked["tiers"]["best"]["product_id"] is None
    assert any("remake 0.0% " in r and "0/60 jobs" in r for r in ranked["tiers"]["good"]["reasons"])


def test_one_product_fills_good_and_the_rest_is_configuration() -> None:
    shelf = CatalogIndex([Product("X", "x", "single_vision", "cr39", "", frozenset({"hard"}),
                                  Decimal(10), "USD", True)])  # fmt: skip
    answer = recommend(parse_request({"rx": {"od": eye(-1.0), "os": eye(-1.0)}}), shelf)
    assert answer["tiers"]["good"]["product_id"] == "X"
    assert answer["tiers"]["better"]["product_id"] is None
