"""Property: for random valid prescriptions, patients, frames, notes and catalogs, every
recommended tier satisfies every hard constraint of DOMAIN.md (checked here from the rules, not
from the module under test), and the tiers ascend in price and benefit."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ils.analytics.dispensing.catalog import LENS_TYPES, MATERIALS, CatalogIndex, Product
from ils.analytics.dispensing.recommender import parse_request, recommend

NOTES = {
    "": False,
    "Plays rugby every weekend.": True,
    "Needs safety glasses at work, machinist.": True,
    "No sport.": False,
    "Her son plays football.": False,
    "Reads a lot, computer all day.": False,
}
INDEX = {m: v.index for m, v in MATERIALS.items()}


def quarter(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.integers(int(lo * 4), int(hi * 4)).map(lambda q: q / 4)


@st.composite
def eyes(draw: st.DrawFn, add: float | None, seg: float | None) -> dict[str, Any]:
    cyl = draw(quarter(-4, 0))
    axis = draw(st.integers(1, 180)) if cyl else None
    return {"sphere": draw(quarter(-12, 8)), "cylinder": cyl, "axis": axis, "add": add,
            "seg_height": seg}  # fmt: skip


@st.composite
def prescriptions(draw: st.DrawFn) -> dict[str, Any]:
    add = draw(st.none() | quarter(0.75, 3.5))
    seg = draw(st.none() | st.integers(20, 60).map(lambda h: h / 2))
    return {"od": draw(eyes(add, seg)), "os": draw(eyes(add, seg))}


@st.composite
def products(draw: st.DrawFn, sku: int) -> Product:
    return Product(
        sku=f"P{sku}",
        name="lens",
        lens_type=draw(st.sampled_from(LENS_TYPES)),
        material=draw(st.sampled_from(sorted(MATERIALS))),
        design=draw(st.sampled_from(["standard", "digital", "premium short", "aspheric"])),
        coatings=frozenset(draw(st.sets(st.sampled_from(["ar", "hard", "uv", "photochromic",
                                                          "polarized", "blue_light"])))),
        price=Decimal(draw(st.integers(10, 500))),
        currency="USD",
        in_stock=draw(st.booleans()),
        min_fitting_height=draw(st.none() | st.integers(12, 20).map(float)),
    )  # fmt: skip


catalogs = st.integers(0, 40).flatmap(
    lambda n: st.tuples(*[products(i) for i in range(n)]) if n else st.just(())
)


def hard_constraint_breaches(
    p: Product, rx: dict[str, Any], impact: bool, b: float | None
) -> list[str]:
    eyes_ = (rx["od"], rx["os"])
    power = max(max(abs(e["sphere"]), abs(e["sphere"] + e["cylinder"])) for e in eyes_)
    add = rx["od"]["add"]
    out = []
    if (add is not None) != (p.lens_type != "single_vision"):
        out.append("multifocal-iff-add")
    if impact and p.material not in ("polycarbonate", "trivex"):
        out.append("impact")
    if power > 4 and INDEX[p.material] < 1.59:
        out.append("high-index")
    if power > 6 and not impact and INDEX[p.material] < 1.67:
        out.append("very-high-index")
    if INDEX[p.material] >= 1.60 and "ar" not in p.coatings:
        out.append("ar")
    if p.lens_type in ("progressive", "bifocal") and rx["od"]["seg_height"] is None:
        out.append("fitting-height-missing")
    if p.lens_type == "progressive" and rx["od"]["seg_height"] is not None:
        minimum = 17.0 if p.min_fitting_height is None else p.min_fitting_height
        if rx["od"]["seg_height"] < minimum:
            out.append("fitting-height")
        short = "short" in p.design
        if b is not None and b < (22 if short else 28):
            out.append("frame-depth")
    return out


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    rx=prescriptions(),
    age=st.integers(3, 90),
    frame_type=st.sampled_from(["full_rim", "semi_rimless", "rimless"]),
    frame_b=st.none() | st.integers(18, 45).map(float),
    notes=st.sampled_from(sorted(NOTES)),
    catalog=catalogs,
)
def test_every_tier_satisfies_every_hard_constraint(
    rx: dict[str, Any], age: int, frame_type: str, frame_b: float | None, notes: str,
    catalog: tuple[Product, ...],
) -> None:  # fmt: skip
    body = {"rx": rx, "clinical_notes": notes, "patient": {"age": age},
            "frame": {"type": frame_type, "b": frame_b}}  # fmt: skip
    answer = recommend(parse_request(body), CatalogIndex(catalog))
    by_sku = {p.sku: p for p in catalog}
    impact = age < 16 or frame_type == "rimless" or NOTES[notes]
    chosen = [answer["tiers"][t] for t in ("good", "better", "best")]
    for rec in chosen:
        if rec["product_id"] is None:
            assert rec["price"] is None and "no product" in rec["reasons"][0]
            continue
        assert hard_constraint_breaches(by_sku[rec["product_id"]], rx, impact, frame_b) == []
    filled = [r for r in chosen if r["product_id"] is not None]
    assert len({r["product_id"] for r in filled}) == len(filled)
    prices = [Decimal(r["price"]["amount"]) for r in filled]
    benefits = [r["benefit"] for r in filled]
    assert all(a < b for a, b in itertools.pairwise(prices))
    assert all(a < b for a, b in itertools.pairwise(benefits))
