"""Catalog: bulk upsert by SKU, refusal of bad products, search, index columns."""

from __future__ import annotations

from typing import Any

import pytest

from ils.analytics.dispensing.catalog import CatalogIndex, search, upsert
from ils.errors import ValidationFailed


def raw(sku: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": sku,
        "name": f"Lens {sku}",
        "lens_type": "progressive",
        "material": "1.67",
        "design": "Digital Short",
        "coatings": ["ar", "hard"],
        "price": {"amount": "199.00", "currency": "USD"},
        "in_stock": True,
        "min_fitting_height": 14,
    }
    body.update(kw)
    return body


def test_upsert_inserts_and_replaces_by_sku() -> None:
    catalog = upsert({}, [raw("A"), raw("B")])
    catalog = upsert(catalog, [raw("A", name="Renamed", price={"amount": "9", "currency": "USD"})])
    assert sorted(catalog) == ["A", "B"]
    assert catalog["A"].name == "Renamed" and str(catalog["A"].price) == "9"


def test_one_bad_product_refuses_the_batch_with_pointers() -> None:
    with pytest.raises(ValidationFailed) as caught:
        upsert({}, [raw("A"), raw("B", material="glass", price={"amount": "x"})])
    pointers = {i.pointer for i in caught.value.issues}
    assert "/products/1/material" in pointers
    assert all(p.startswith("/products/1/") for p in pointers)


def test_search_matches_every_word_over_name_design_material_and_coatings() -> None:
    catalog = upsert({}, [raw("A"), raw("B", material="cr39", coatings=["hard"], design="Basic")])
    assert [p.sku for p in search(catalog.values(), "digital ar")] == ["A"]
    assert [p.sku for p in search(catalog.values(), "CR39")] == ["B"]
    assert len(search(catalog.values(), "")) == 2


def test_index_reads_design_features_and_groups_configurations() -> None:
    catalog = upsert({}, [raw("A"), raw("B"), raw("C", design="Premium Wide")])
    index = CatalogIndex(catalog.values())
    assert list(index.short_corridor) == [True, True, False]
    assert list(index.design_grade) == [1.0, 1.0, 2.0]
    assert len(index.configurations) == 2
