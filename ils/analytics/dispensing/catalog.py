"""The lens catalog of a tenant: products, bulk upsert by SKU, search, and a columnar index.

``CatalogIndex`` holds the catalog as numpy columns (built once per catalog version) so that the
recommender filters and scores thousands of products with array operations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ils.errors import FieldIssue, ValidationFailed

LENS_TYPES: Final = ("single_vision", "bifocal", "progressive", "occupational")
MULTIFOCAL: Final = frozenset({"bifocal", "progressive", "occupational"})
COATINGS: Final = ("ar", "hard", "blue_light", "photochromic", "polarized", "uv", "tint", "mirror")


@dataclass(frozen=True)
class Material:
    index: float
    abbe: int
    specific_gravity: float
    impact_resistant: bool


# DOMAIN.md "Lens products": index / Abbe / specific gravity.
MATERIALS: Final = {
    "cr39": Material(1.50, 58, 1.31, False),
    "1.56": Material(1.56, 37, 1.23, False),
    "1.60": Material(1.60, 41, 1.30, False),
    "1.67": Material(1.67, 32, 1.37, False),
    "1.74": Material(1.74, 33, 1.47, False),
    "polycarbonate": Material(1.59, 30, 1.20, True),
    "trivex": Material(1.53, 44, 1.11, True),
}
_SHORT_CORRIDOR = re.compile(r"\b(short|compact|mini)\b", re.IGNORECASE)
_ASPHERIC = re.compile(r"\b(aspheric|atoric|asph)\b", re.IGNORECASE)
_GRADES = (
    (re.compile(r"\b(personali[sz]ed|individual|bespoke|premium|elite)\b", re.I), 2),
    (re.compile(r"\b(digital|free[- ]?form|hd|advanced)\b", re.I), 1),
)


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    lens_type: str
    material: str
    design: str
    coatings: frozenset[str]
    price: Decimal
    currency: str
    in_stock: bool
    min_fitting_height: float | None = None

    @property
    def short_corridor(self) -> bool:
        return bool(_SHORT_CORRIDOR.search(f"{self.name} {self.design}"))

    @property
    def aspheric(self) -> bool:
        return bool(_ASPHERIC.search(f"{self.name} {self.design}"))

    @property
    def design_grade(self) -> int:
        """0 standard, 1 digital/free-form, 2 personalised/premium (read from name and design)."""
        text = f"{self.name} {self.design}"
        return next((grade for pattern, grade in _GRADES if pattern.search(text)), 0)

    def as_api(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "lens_type": self.lens_type,
            "material": self.material,
            "design": self.design,
            "coatings": sorted(self.coatings),
            "price": {"amount": f"{self.price:.2f}", "currency": self.currency},
            "in_stock": self.in_stock,
            "min_fitting_height": self.min_fitting_height,
        }


def _product_issues(raw: Mapping[str, Any], at: str) -> list[FieldIssue]:
    issues = []
    for key in ("sku", "name"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            issues.append(FieldIssue(f"{at}/{key}", f"{key}-required", "a non-empty string"))
    if raw.get("lens_type") not in LENS_TYPES:
        issues.append(FieldIssue(f"{at}/lens_type", "lens-type-invalid", "|".join(LENS_TYPES)))
    if raw.get("material") not in MATERIALS:
        issues.append(FieldIssue(f"{at}/material", "material-invalid", "|".join(MATERIALS)))
    coatings = raw.get("coatings", [])
    if not isinstance(coatings, list) or not all(isinstance(c, str) for c in coatings):
        issues.append(FieldIssue(f"{at}/coatings", "coatings-invalid", "a list of strings"))
    mfh = raw.get("min_fitting_height")
    if mfh is not None and (isinstance(mfh, bool) or not isinstance(mfh, int | float)):
        issues.append(FieldIssue(f"{at}/min_fitting_height", "not-a-number", "mm or null"))
    return issues


def _price(raw: Mapping[str, Any], at: str) -> tuple[Decimal, str]:
    price = raw.get("price")
    issue = FieldIssue(f"{at}/price", "price-invalid", '{"amount": "129.00", "currency": "USD"}')
    if not isinstance(price, Mapping) or not isinstance(price.get("currency"), str):
        raise ValidationFailed([issue])
    try:
        amount = Decimal(str(price.get("amount")))
    except InvalidOperation:
        raise ValidationFailed([issue]) from None
    currency = price["currency"]
    if not amount.is_finite() or amount < 0 or len(currency) != 3:
        raise ValidationFailed([issue])
    return amount, currency


def parse_product(raw: Mapping[str, Any], at: str = "") -> Product:
    issues = _product_issues(raw, at)
    if issues:
        raise ValidationFailed(issues)
    amount, currency = _price(raw, at)
    mfh = raw.get("min_fitting_height")
    return Product(
        sku=raw["sku"].strip(),
        name=raw["name"].strip(),
        lens_type=raw["lens_type"],
        material=raw["material"],
        design=str(raw.get("design") or ""),
        coatings=frozenset(c.strip().lower() for c in raw.get("coatings", [])),
        price=amount,
        currency=currency,
        in_stock=bool(raw.get("in_stock", False)),
        min_fitting_height=float(mfh) if mfh is not None else None,
    )


def upsert(catalog: Mapping[str, Product], raws: Iterable[Mapping[str, Any]]) -> dict[str, Product]:
    """Bulk upsert by SKU: all products are checked first; one bad product refuses the batch."""
    parsed: list[Product] = []
    issues: list[FieldIssue] = []
    for i, raw in enumerate(raws):
        try:
            parsed.append(parse_product(raw, f"/products/{i}"))
        except ValidationFailed as failure:
            issues.extend(failure.issues)
    if issues:
        raise ValidationFailed(issues)
    merged = dict(catalog)
    merged.update((p.sku, p) for p in parsed)
    return merged


def query_words(query: str) -> list[str]:
    """The lower-case words of a catalog query (each must occur in a product's search text)."""
    return [w for w in re.split(r"\W+", query.lower()) if w]


def search_text(product: Product) -> str:
    """What a query word is matched against: SKU, name, design, material, type and coatings."""
    p = product
    return " ".join((p.sku, p.name, p.design, p.material, p.lens_type, *sorted(p.coatings))).lower()


def search(products: Iterable[Product], query: str, limit: int = 50) -> list[Product]:
    """Products whose name, design, material, coatings, type or SKU contain every query word."""
    words = query_words(query)
    hits = [p for p in products if all(w in search_text(p) for w in words)]
    return sorted(hits, key=lambda p: (p.price, p.sku))[:limit]


class CatalogIndex:
    """Columns of a catalog for vectorised filtering and scoring."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.products: tuple[Product, ...] = tuple(sorted(products, key=lambda p: p.sku))
        ps = self.products
        self.lens_type = np.array([p.lens_type for p in ps], dtype=object)
        self.material = np.array([p.material for p in ps], dtype=object)
        self.index = np.array([MATERIALS[p.material].index for p in ps], dtype=float)
        self.gravity = np.array([MATERIALS[p.material].specific_gravity for p in ps], dtype=float)
        self.impact = np.array([MATERIALS[p.material].impact_resistant for p in ps], dtype=bool)
        self.price = np.array([float(p.price) for p in ps], dtype=float)
        self.in_stock = np.array([p.in_stock for p in ps], dtype=bool)
        self.min_fitting_height = np.array(
            [np.nan if p.min_fitting_height is None else p.min_fitting_height for p in ps]
        )
        self.short_corridor = np.array([p.short_corridor for p in ps], dtype=bool)
        self.aspheric = np.array([p.aspheric for p in ps], dtype=bool)
        self.design_grade = np.array([p.design_grade for p in ps], dtype=float)
        self.coating: dict[str, npt.NDArray[np.bool_]] = {
            c: np.array([c in p.coatings for p in ps], dtype=bool) for c in COATINGS
        }
        keys = [configuration_key(p) for p in ps]
        self.configurations: tuple[tuple[str, str, str, tuple[str, ...]], ...] = tuple(
            dict.fromkeys(keys)
        )
        position = {k: i for i, k in enumerate(self.configurations)}
        self.configuration_id = np.array([position[k] for k in keys], dtype=int)

    def __len__(self) -> int:
        return len(self.products)

    def type_in(self, types: Iterable[str]) -> npt.NDArray[np.bool_]:
        return np.isin(self.lens_type, list(types))


def configuration_key(product: Product) -> tuple[str, str, str, tuple[str, ...]]:
    """What the manufacturing history is grouped by: type, material, design, coatings."""
    return (product.lens_type, product.material, product.design, tuple(sorted(product.coatings)))
