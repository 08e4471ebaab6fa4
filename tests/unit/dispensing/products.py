"""Products for the dispensing tests, built from a few keywords."""

from __future__ import annotations

from decimal import Decimal

from ils.analytics.dispensing.catalog import Product


def product(
    sku: str,
    lens_type: str = "single_vision",
    material: str = "cr39",
    coatings: tuple[str, ...] = ("hard",),
    price: str = "50",
    in_stock: bool = True,
    design: str = "standard",
    min_fitting_height: float | None = None,
) -> Product:
    return Product(
        sku=sku,
        name=f"{lens_type} {material} {design}",
        lens_type=lens_type,
        material=material,
        design=design,
        coatings=frozenset(coatings),
        price=Decimal(price),
        currency="USD",
        in_stock=in_stock,
        min_fitting_height=min_fitting_height,
    )
