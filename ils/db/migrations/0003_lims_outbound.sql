-- LIMS outbound: each lab's LIMS connection (the key sealed at rest) and its circuit breaker.

CREATE TABLE lab_lims (
    lab_id          uuid PRIMARY KEY REFERENCES tenants(id),
    base_url        text NOT NULL CHECK (length(base_url) BETWEEN 1 AND 2000),
    api_key_sealed  text NOT NULL,
    -- The relay's breaker for this lab as last saved (state, failures, opened_at, probes).
    breaker         jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_error      text,
    last_error_at   timestamptz,
    updated_by      uuid REFERENCES users(id),
    updated_at      timestamptz NOT NULL,
    version         integer NOT NULL DEFAULT 1
);

CREATE INDEX outbox_order ON outbox (order_id);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
