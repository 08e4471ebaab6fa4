-- The lens catalog of a lab (API.md "AI dispensing assistant"): products upserted by SKU.
-- A practice has no catalog of its own; it reads the catalogs of the labs it is linked to.

CREATE TABLE catalog_products (
    tenant_id           uuid NOT NULL REFERENCES tenants(id),
    sku                 text NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    lens_type           text NOT NULL CHECK (lens_type IN ('single_vision', 'bifocal',
                            'progressive', 'occupational')),
    material            text NOT NULL CHECK (material IN ('cr39', '1.56', '1.60', '1.67', '1.74',
                            'polycarbonate', 'trivex')),
    design              text NOT NULL DEFAULT '',
    coatings            text[] NOT NULL DEFAULT '{}',
    price_amount        numeric NOT NULL CHECK (price_amount >= 0),
    price_currency      text NOT NULL CHECK (price_currency ~ '^[A-Z]{3}$'),
    in_stock            boolean NOT NULL,
    min_fitting_height  double precision,
    -- Lower-case words the list route matches every query word against (as a substring).
    search_text         text NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);
-- Pages of a catalog in price order (the order of GET /api/catalog/products).
CREATE INDEX catalog_products_price ON catalog_products (tenant_id, price_amount, sku);

-- One row per tenant with a catalog: bumped by every upsert, so that a cached index of the
-- catalog is rebuilt only when the catalog changed.
CREATE TABLE catalog_versions (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants(id),
    version     bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);
