-- Quality engineering (inspections, QA failures, RCA, SPC), alerts, analytics rollups, the
-- per-lab cost model and price lists.

-- Final inspections judged by ILS against ANSI Z80.1 (from the API or a LIMS job.inspection).
CREATE TABLE qc_inspections (
    id            uuid PRIMARY KEY,
    lab_id        uuid NOT NULL REFERENCES tenants(id),
    order_id      uuid NOT NULL REFERENCES orders(id),
    source        text NOT NULL CHECK (source IN ('api', 'lims')),
    measured      jsonb NOT NULL,
    lims_pass     boolean,
    pass          boolean NOT NULL,
    fields        jsonb NOT NULL,
    inspected_by  uuid REFERENCES users(id),
    inspected_at  timestamptz NOT NULL
);
CREATE INDEX qc_inspections_order ON qc_inspections (order_id, inspected_at);
CREATE INDEX qc_inspections_lab ON qc_inspections (lab_id, inspected_at);

-- QA failures: a failed inspection, or one recorded by hand, linked to order/station/equipment.
CREATE TABLE qa_failures (
    id             uuid PRIMARY KEY,
    lab_id         uuid NOT NULL REFERENCES tenants(id),
    order_id       uuid REFERENCES orders(id),
    inspection_id  uuid REFERENCES qc_inspections(id),
    station        text,
    equipment_id   text,
    reason         text NOT NULL,
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by     uuid REFERENCES users(id),
    created_at     timestamptz NOT NULL
);
CREATE INDEX qa_failures_lab ON qa_failures (lab_id, created_at DESC, id DESC);

-- Root-cause analyses: open -> investigating -> corrective_action -> verified -> closed.
CREATE TABLE rca_records (
    id           uuid PRIMARY KEY,
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    title        text NOT NULL,
    category     text NOT NULL CHECK (category IN ('method', 'machine', 'material', 'people',
                     'measurement', 'environment')),
    status       text NOT NULL CHECK (status IN ('open', 'investigating', 'corrective_action',
                     'verified', 'closed')),
    description  text,
    root_cause   text,
    created_by   uuid REFERENCES users(id),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      integer NOT NULL DEFAULT 1
);
CREATE INDEX rca_records_lab ON rca_records (lab_id, created_at DESC, id DESC);

CREATE TABLE rca_failures (
    rca_id      uuid NOT NULL REFERENCES rca_records(id),
    failure_id  uuid NOT NULL REFERENCES qa_failures(id),
    PRIMARY KEY (rca_id, failure_id)
);

CREATE TABLE corrective_actions (
    id           uuid PRIMARY KEY,
    rca_id       uuid NOT NULL REFERENCES rca_records(id),
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    description  text NOT NULL,
    owner        text,
    due_date     date,
    created_at   timestamptz NOT NULL
);
CREATE INDEX corrective_actions_rca ON corrective_actions (rca_id, created_at);

-- SPC: control points with specification limits and control limits from a baseline.
CREATE TABLE control_points (
    id             uuid PRIMARY KEY,
    lab_id         uuid NOT NULL REFERENCES tenants(id),
    name           text NOT NULL,
    station        text,
    unit           text NOT NULL,
    lsl            double precision,
    usl            double precision,
    target         double precision,
    chart          text NOT NULL CHECK (chart IN ('imr', 'xbar_r')),
    subgroup_size  integer NOT NULL DEFAULT 1,
    limits         jsonb,
    created_at     timestamptz NOT NULL,
    UNIQUE (lab_id, name)
);

-- One plotted point: an individual value (I-MR) or a subgroup mean with its range (X-bar/R).
CREATE TABLE control_measurements (
    id                bigserial PRIMARY KEY,
    control_point_id  uuid NOT NULL REFERENCES control_points(id),
    value             double precision NOT NULL,
    spread            double precision,
    raw               jsonb NOT NULL,
    measured_at       timestamptz NOT NULL
);
CREATE INDEX control_measurements_point ON control_measurements (control_point_id, id);

-- Alerts of every kind (quality, equipment, process, volume); created here unless it exists.
CREATE TABLE IF NOT EXISTS alerts (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    kind         text NOT NULL,
    severity     text NOT NULL,
    subject      text NOT NULL,
    detected_at  timestamptz NOT NULL,
    evidence     jsonb NOT NULL DEFAULT '{}'::jsonb,
    status       text NOT NULL DEFAULT 'open',
    dedupe_key   text NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_tenant_dedupe ON alerts (tenant_id, dedupe_key);

-- Analytics rollups, fed incrementally by every appended event (ils/db/rollups.py).
CREATE TABLE rollups (
    tenant_id     uuid NOT NULL,
    metric        text NOT NULL,
    granularity   text NOT NULL CHECK (granularity IN ('day', 'week', 'month')),
    bucket_start  date NOT NULL,
    amount        numeric NOT NULL,
    PRIMARY KEY (tenant_id, metric, granularity, bucket_start)
);

-- Per-lab cost model and price lists (per lab, optionally per practice).
CREATE TABLE cost_models (
    lab_id                uuid PRIMARY KEY REFERENCES tenants(id),
    currency              text NOT NULL,
    labour_rate_per_hour  jsonb NOT NULL,
    blank_cost            jsonb NOT NULL,
    overhead_per_day      numeric(14, 2) NOT NULL,
    updated_by            uuid REFERENCES users(id),
    updated_at            timestamptz NOT NULL
);

CREATE TABLE price_lists (
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    practice_id  uuid REFERENCES tenants(id),
    product      text NOT NULL,
    price        numeric(12, 2) NOT NULL CHECK (price >= 0)
);
CREATE UNIQUE INDEX price_lists_key
    ON price_lists (lab_id, COALESCE(practice_id, '00000000-0000-0000-0000-000000000000'::uuid), product);

-- Reads of the KPI cohorts: shipments and cancellations by time, due dates, remakes, and the
-- LIMS station history (0006) by job and by finish time.
CREATE INDEX events_shipped ON events (tenant_id, occurred_at)
    WHERE type = 'order.status_changed' AND (payload ->> 'to') = 'shipped';
CREATE INDEX events_cancelled ON events (tenant_id, occurred_at)
    WHERE type = 'order.status_changed' AND (payload ->> 'to') = 'cancelled';
CREATE INDEX orders_lab_due ON orders (lab_id, due_date);
CREATE INDEX orders_remake_of ON orders (remake_of) WHERE remake_of IS NOT NULL;
CREATE INDEX order_issues_remake ON order_issues (remake_order_id) WHERE remake_order_id IS NOT NULL;
DO $$
BEGIN
    IF to_regclass('station_movements') IS NOT NULL THEN
        CREATE INDEX station_movements_job ON station_movements (lab_id, job_id, n);
        CREATE INDEX station_movements_done ON station_movements (lab_id, occurred_at)
            WHERE status = 'done';
    END IF;
END $$;
