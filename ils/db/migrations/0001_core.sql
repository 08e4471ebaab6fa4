-- Tenants, identity, orders, the per-tenant event log, outbox, idempotency and audit.

CREATE TABLE tenants (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('lab', 'practice')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    settings        jsonb NOT NULL DEFAULT '{}'::jsonb,
    webhook_secret  text,
    webhook_secret_previous text,
    created_at      timestamptz NOT NULL
);

CREATE TABLE tenant_links (
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    practice_id  uuid NOT NULL REFERENCES tenants(id),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (lab_id, practice_id)
);
CREATE INDEX tenant_links_practice ON tenant_links (practice_id);

-- One row per tenant: the head of its event log and its counters. Locking this row serialises
-- the tenant's writers, which keeps `seq` dense and strictly increasing.
CREATE TABLE tenant_heads (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants(id),
    last_seq        bigint NOT NULL DEFAULT 0,
    last_order_no   bigint NOT NULL DEFAULT 0,
    audit_last_hash bytea NOT NULL DEFAULT '\x'::bytea,
    audit_count     bigint NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    email          text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'ecp', 'lab_tech', 'engineer', 'supplier')),
    mfa_secret     text,
    mfa_enabled    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    disabled_at    timestamptz
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_tenant ON users (tenant_id);

-- Server-side sessions. Tokens are stored only as SHA-256 hashes; revoking a row ends the
-- session at once. A refresh rotates the tokens inside the same family.
CREATE TABLE sessions (
    id                  uuid PRIMARY KEY,
    family_id           uuid NOT NULL,
    user_id             uuid NOT NULL REFERENCES users(id),
    tenant_id           uuid NOT NULL REFERENCES tenants(id),
    access_hash         bytea NOT NULL UNIQUE,
    refresh_hash        bytea NOT NULL UNIQUE,
    access_expires_at   timestamptz NOT NULL,
    refresh_expires_at  timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    rotated_at          timestamptz,
    revoked_at          timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_family ON sessions (family_id);

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    order_number    text NOT NULL,
    practice_id     uuid NOT NULL REFERENCES tenants(id),
    lab_id          uuid NOT NULL REFERENCES tenants(id),
    status          text NOT NULL CHECK (status IN ('pending', 'in_production', 'quality_check',
                        'shipped', 'completed', 'on_hold', 'cancelled')),
    held_from       text,
    station         text,
    patient_ref     text NOT NULL,
    due_date        date,
    priority        text NOT NULL CHECK (priority IN ('standard', 'rush')),
    rx              jsonb NOT NULL,
    rx_minus_cyl    jsonb NOT NULL,
    lens            jsonb NOT NULL,
    frame           jsonb,
    clinical_notes  text,
    warnings        jsonb NOT NULL DEFAULT '[]'::jsonb,
    remake_of       uuid REFERENCES orders(id),
    lims_job_id     text,
    lims_sequence   bigint NOT NULL DEFAULT 0,
    sent_to_lab_at  timestamptz,
    delivered_at    timestamptz,
    created_by      uuid REFERENCES users(id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    UNIQUE (practice_id, order_number)
);
CREATE INDEX orders_practice_updated ON orders (practice_id, updated_at, id);
CREATE INDEX orders_lab_updated ON orders (lab_id, updated_at, id);
CREATE INDEX orders_practice_created ON orders (practice_id, created_at DESC, id DESC);
CREATE INDEX orders_lab_created ON orders (lab_id, created_at DESC, id DESC);
CREATE INDEX orders_lab_status ON orders (lab_id, status);

-- The per-tenant event log: append-only, dense `seq` per tenant.
CREATE TABLE events (
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    seq          bigint NOT NULL,
    type         text NOT NULL,
    order_id     uuid,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    occurred_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX events_order ON events (order_id, tenant_id, seq) WHERE order_id IS NOT NULL;

-- Work for the LIMS relay, committed with the change that caused it.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    lab_id           uuid NOT NULL REFERENCES tenants(id),
    order_id         uuid NOT NULL REFERENCES orders(id),
    kind             text NOT NULL,
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    sent_at          timestamptz,
    failed_at        timestamptz,
    last_error       text
);
CREATE INDEX outbox_pending ON outbox (lab_id, next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Idempotency-Key records for creating requests, committed with what they created.
CREATE TABLE idempotency_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants(id),
    key           text NOT NULL,
    scope         text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer NOT NULL,
    response      jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, scope, key)
);

-- Returns and non-adapts, each optionally linked to the remake order that resolves it.
CREATE TABLE order_issues (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES orders(id),
    practice_id      uuid NOT NULL REFERENCES tenants(id),
    lab_id           uuid NOT NULL REFERENCES tenants(id),
    kind             text NOT NULL CHECK (kind IN ('return', 'non_adapt')),
    category         text NOT NULL,
    reason           text NOT NULL,
    symptoms         jsonb NOT NULL DEFAULT '[]'::jsonb,
    notes            text,
    within_warranty  boolean NOT NULL,
    remake_order_id  uuid REFERENCES orders(id),
    created_by       uuid REFERENCES users(id),
    created_at       timestamptz NOT NULL
);
CREATE INDEX order_issues_order ON order_issues (order_id);

-- Audit trail, hash-chained per tenant (hash = sha256(prev_hash || canonical content)).
CREATE TABLE audit_log (
    tenant_id     uuid NOT NULL REFERENCES tenants(id),
    n             bigint NOT NULL,
    at            timestamptz NOT NULL,
    actor_id      uuid,
    action        text NOT NULL,
    subject       text,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash     bytea NOT NULL,
    hash          bytea NOT NULL,
    PRIMARY KEY (tenant_id, n)
);
