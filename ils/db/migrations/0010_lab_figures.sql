-- The metrics API's own data (ils/db/lab_figures.py): what became of each order (its facts, as
-- ils.analytics.order_facts reads them), the per-lab per-day sums of their contributions, and the
-- position in the lab's event log up to which both are current (the orders named by later events
-- are recomputed, idempotently, before a report is read).
CREATE TABLE order_facts (
    lab_id    uuid NOT NULL REFERENCES tenants(id),
    order_id  uuid NOT NULL,
    facts     jsonb NOT NULL,
    PRIMARY KEY (lab_id, order_id)
);

CREATE TABLE lab_day_sums (
    lab_id  uuid NOT NULL REFERENCES tenants(id),
    day     date NOT NULL,
    metric  text NOT NULL,
    key     text NOT NULL,
    amount  numeric NOT NULL,
    PRIMARY KEY (lab_id, day, metric, key)
);
-- WIP reads two metrics over the lab's whole history.
CREATE INDEX lab_day_sums_metric ON lab_day_sums (lab_id, metric, day) INCLUDE (amount);

CREATE TABLE lab_figure_heads (
    lab_id      uuid PRIMARY KEY REFERENCES tenants(id),
    seq         bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- A QA failure recorded from a LIMS inspection that failed ILS's own Z80.1 verdict.
ALTER TABLE qa_failures ADD COLUMN lims_inspection_id uuid REFERENCES lims_inspections(id);
