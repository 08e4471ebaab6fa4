-- LIMS inbound: webhook events (de-duplication), breakages, LIMS inspections, station history
-- and station resources.

-- Every LIMS event ILS accepted (applied or late), once per lab and event id. The primary key is
-- the de-duplication: a replayed id conflicts and changes nothing.
CREATE TABLE lims_webhook_events (
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    event_id     text NOT NULL,
    n            bigserial,
    type         text NOT NULL,
    job_id       text NOT NULL,
    order_id     uuid NOT NULL REFERENCES orders(id),
    sequence     bigint NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('pending', 'applied', 'late')),
    data         jsonb NOT NULL,
    PRIMARY KEY (lab_id, event_id)
);
CREATE INDEX lims_webhook_events_order ON lims_webhook_events (order_id, sequence);

-- Breakages reported by the LIMS: reason code, station, shift and the station the lens restarts at.
CREATE TABLE breakages (
    id               uuid PRIMARY KEY,
    lab_id           uuid NOT NULL REFERENCES tenants(id),
    order_id         uuid NOT NULL REFERENCES orders(id),
    job_id           text NOT NULL,
    event_id         text NOT NULL,
    station          text NOT NULL,
    reason_code      text NOT NULL,
    shift            text,
    restart_station  text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    UNIQUE (lab_id, event_id)
);
CREATE INDEX breakages_lab ON breakages (lab_id, occurred_at);
CREATE INDEX breakages_order ON breakages (order_id, occurred_at);

-- Final inspections reported by the LIMS: what it measured, its pass, and ILS's own Z80.1 verdict
-- (null when the measurement could not be judged against the order).
CREATE TABLE lims_inspections (
    id           uuid PRIMARY KEY,
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    order_id     uuid NOT NULL REFERENCES orders(id),
    job_id       text NOT NULL,
    event_id     text NOT NULL,
    measured     jsonb NOT NULL,
    lims_pass    boolean NOT NULL,
    ils_pass     boolean,
    verdict      jsonb,
    occurred_at  timestamptz NOT NULL,
    UNIQUE (lab_id, event_id)
);
CREATE INDEX lims_inspections_lab ON lims_inspections (lab_id, occurred_at);
CREATE INDEX lims_inspections_order ON lims_inspections (order_id, occurred_at);

-- The station history a StationActor is rebuilt from: a job's status at a station (queued,
-- in_process, done, left) with the LIMS sequence that put it there, in commit order (n).
CREATE TABLE station_movements (
    n            bigserial PRIMARY KEY,
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    station      text NOT NULL,
    job_id       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('queued', 'in_process', 'done', 'left')),
    sequence     bigint NOT NULL,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX station_movements_station ON station_movements (lab_id, station, n);

-- Staffed resources per lab station (PUT /api/lab/stations/{station}).
CREATE TABLE station_resources (
    lab_id         uuid NOT NULL REFERENCES tenants(id),
    station        text NOT NULL,
    staff          integer NOT NULL CHECK (staff >= 0),
    machines       integer NOT NULL CHECK (machines >= 0),
    cross_trained  jsonb NOT NULL DEFAULT '[]'::jsonb,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (lab_id, station)
);

CREATE INDEX orders_lab_job ON orders (lab_id, lims_job_id) WHERE lims_job_id IS NOT NULL;
