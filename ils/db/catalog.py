"""A lab's lens catalog: products upserted by SKU, pages of a search, the catalog's version."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ils.analytics.dispensing.catalog import Product, search_text
from ils.db.database import Conn

PRODUCT_COLUMNS = """
sku, name, lens_type, material, design, coatings, price_amount, price_currency, in_stock,
min_fitting_height
"""
UPSERT_PRODUCT = """
INSERT INTO catalog_products (tenant_id, sku, name, lens_type, material, design, coatings,
    price_amount, price_currency, in_stock, min_fitting_height, search_text, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (tenant_id, sku) DO UPDATE SET
    name = EXCLUDED.name, lens_type = EXCLUDED.lens_type, material = EXCLUDED.material,
    design = EXCLUDED.design, coatings = EXCLUDED.coatings,
    price_amount = EXCLUDED.price_amount, price_currency = EXCLUDED.price_currency,
    in_stock = EXCLUDED.in_stock, min_fitting_height = EXCLUDED.min_fitting_height,
    search_text = EXCLUDED.search_text, updated_at = EXCLUDED.updated_at
"""
SELECT_CURRENCIES = """
SELECT DISTINCT price_currency FROM catalog_products WHERE tenant_id = $1 ORDER BY price_currency
"""
BUMP_VERSION = """
INSERT INTO catalog_versions (tenant_id, version, updated_at) VALUES ($1, 1, $2)
ON CONFLICT (tenant_id) DO UPDATE
    SET version = catalog_versions.version + 1, updated_at = EXCLUDED.updated_at
RETURNING version
"""
SELECT_VERSION = "SELECT version FROM catalog_versions WHERE tenant_id = $1"
SELECT_ALL = f"SELECT {PRODUCT_COLUMNS} FROM catalog_products WHERE tenant_id = $1"
# Every query word must occur in the search text: LIKE patterns with the words' wildcards escaped.
SELECT_PAGE = f"""
SELECT {PRODUCT_COLUMNS} FROM catalog_products
WHERE tenant_id = $1
  AND search_text LIKE ALL($2::text[])
  AND ($3::numeric IS NULL OR (price_amount, sku) > ($3, $4::text))
ORDER BY price_amount, sku
LIMIT $5
"""
SELECT_LINKED_LABS = """
SELECT lab_id FROM tenant_links WHERE practice_id = $1 ORDER BY lab_id
"""


def product_row(row: Any) -> Product:
    return Product(
        sku=row["sku"],
        name=row["name"],
        lens_type=row["lens_type"],
        material=row["material"],
        design=row["design"],
        coatings=frozenset(row["coatings"]),
        price=Decimal(row["price_amount"]),
        currency=row["price_currency"],
        in_stock=row["in_stock"],
        min_fitting_height=row["min_fitting_height"],
    )


async def upsert(conn: Conn, tenant_id: str, products: Sequence[Product], now: datetime) -> int:
    """Insert or replace the products by SKU and bump the catalog's version (returned).

    The version row is bumped first: its row lock serialises the tenant's catalog writers, so two
    concurrent batches with overlapping SKUs never deadlock on the product rows.
    """
    version = int(await conn.fetchval(BUMP_VERSION, tenant_id, now))
    await conn.executemany(
        UPSERT_PRODUCT,
        [
            (
                tenant_id,
                p.sku,
                p.name,
                p.lens_type,
                p.material,
                p.design,
                sorted(p.coatings),
                p.price,
                p.currency,
                p.in_stock,
                p.min_fitting_height,
                search_text(p),
                now,
            )
            for p in sorted(products, key=lambda p: p.sku)
        ],
    )
    return version


async def currencies(conn: Conn, tenant_id: str) -> list[str]:
    return [r["price_currency"] for r in await conn.fetch(SELECT_CURRENCIES, tenant_id)]


async def version(conn: Conn, tenant_id: str) -> int:
    """0 for a tenant that never stored a product."""
    value = await conn.fetchval(SELECT_VERSION, tenant_id)
    return int(value) if value is not None else 0


async def all_products(conn: Conn, tenant_id: str) -> list[Product]:
    return [product_row(r) for r in await conn.fetch(SELECT_ALL, tenant_id)]


def like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    conn: Conn,
    tenant_id: str,
    words: Sequence[str],
    after: tuple[Decimal, str] | None,
    limit: int,
) -> list[Product]:
    after_price, after_sku = after if after else (None, None)
    rows = await conn.fetch(
        SELECT_PAGE,
        tenant_id,
        [like_pattern(w) for w in words],
        after_price,
        after_sku,
        limit,
    )
    return [product_row(r) for r in rows]


def encode_cursor(product: Product) -> str:
    raw = json.dumps([str(product.price), product.sku]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Decimal, str]:
    """Raises ValueError (or TypeError) on anything that is not a cursor this module made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    price, sku = json.loads(base64.urlsafe_b64decode(padded.encode()))
    amount = Decimal(str(price))
    if not amount.is_finite() or not isinstance(sku, str):
        raise ValueError("not a catalog cursor")
    return amount, sku


async def linked_labs(conn: Conn, practice_id: str) -> list[str]:
    return [str(r["lab_id"]) for r in await conn.fetch(SELECT_LINKED_LABS, practice_id)]
