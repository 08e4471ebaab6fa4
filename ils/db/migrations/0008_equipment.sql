-- Equipment registry, its failure/maintenance/repair events, telemetry (raw, quarantined, hourly
-- rollup with a retention rule), and the columns the anomaly alerts need on the shared alerts table.

CREATE TABLE equipment (
    lab_id         uuid NOT NULL REFERENCES tenants(id),
    id             text NOT NULL,
    station        text NOT NULL,
    kind           text NOT NULL,
    metrics        text[] NOT NULL,
    registered_at  timestamptz NOT NULL,
    PRIMARY KEY (lab_id, id)
);

CREATE TABLE equipment_events (
    id            uuid PRIMARY KEY,
    lab_id        uuid NOT NULL,
    equipment_id  text NOT NULL,
    type          text NOT NULL CHECK (type IN ('failure', 'maintenance', 'repair')),
    at            timestamptz NOT NULL,
    recorded_by   uuid REFERENCES users(id),
    recorded_at   timestamptz NOT NULL,
    FOREIGN KEY (lab_id, equipment_id) REFERENCES equipment (lab_id, id)
);
CREATE INDEX equipment_events_machine ON equipment_events (lab_id, equipment_id, at);

-- Accepted readings, one row per (reading, metric), written with COPY. Append-only and inserted
-- roughly in time order, so a BRIN index on time stays tiny and prunes scans by time; per-machine
-- reads (detector rebuild, failure features) use the B-tree.
CREATE TABLE telemetry (
    lab_id        uuid NOT NULL,
    equipment_id  text NOT NULL,
    metric        text NOT NULL,
    at            timestamptz NOT NULL,
    value         double precision NOT NULL
);
CREATE INDEX telemetry_at_brin ON telemetry USING brin (at);
CREATE INDEX telemetry_machine ON telemetry (lab_id, equipment_id, at);

-- Quarantined readings (unit changed, flood): kept as sent for a person to look at.
CREATE TABLE telemetry_quarantine (
    lab_id        uuid NOT NULL,
    equipment_id  text NOT NULL,
    at            timestamptz,
    code          text NOT NULL,
    detail        text NOT NULL,
    reading       jsonb NOT NULL,
    received_at   timestamptz NOT NULL
);
CREATE INDEX telemetry_quarantine_lab ON telemetry_quarantine (lab_id, received_at);

-- Long-term retention: hourly aggregates per (machine, metric). Retention rule: raw telemetry is
-- kept for N days (prune_telemetry(N); ILS keeps 90: ils.db.telemetry.RAW_RETENTION_DAYS); before raw rows are deleted their hours are
-- rolled up here, and the hourly rows are kept.
CREATE TABLE telemetry_hourly (
    lab_id        uuid NOT NULL,
    equipment_id  text NOT NULL,
    metric        text NOT NULL,
    hour          timestamptz NOT NULL,
    n             integer NOT NULL,
    mean          double precision NOT NULL,
    min           double precision NOT NULL,
    max           double precision NOT NULL,
    stddev        double precision,
    PRIMARY KEY (lab_id, equipment_id, metric, hour)
);

-- Roll up raw hours in [from_at, to_at) (re-running replaces those hours with fresh aggregates).
CREATE FUNCTION rollup_telemetry(from_at timestamptz, to_at timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    written integer;
BEGIN
    INSERT INTO telemetry_hourly (lab_id, equipment_id, metric, hour, n, mean, min, max, stddev)
    SELECT lab_id, equipment_id, metric, date_trunc('hour', at), count(*), avg(value),
           min(value), max(value), stddev_samp(value)
    FROM telemetry WHERE at >= from_at AND at < to_at
    GROUP BY lab_id, equipment_id, metric, date_trunc('hour', at)
    ON CONFLICT (lab_id, equipment_id, metric, hour) DO UPDATE SET n = EXCLUDED.n,
        mean = EXCLUDED.mean, min = EXCLUDED.min, max = EXCLUDED.max, stddev = EXCLUDED.stddev;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

-- Apply the retention rule: raw rows older than keep_days (whole hours) are rolled up, then
-- deleted. Returns the raw rows deleted.
CREATE FUNCTION prune_telemetry(keep_days integer, now_at timestamptz DEFAULT now())
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := date_trunc('hour', now_at - make_interval(days => keep_days));
    oldest timestamptz;
    deleted bigint;
BEGIN
    SELECT min(at) INTO oldest FROM telemetry;
    IF oldest IS NULL OR oldest >= cutoff THEN
        RETURN 0;
    END IF;
    PERFORM rollup_telemetry(date_trunc('hour', oldest), cutoff);
    DELETE FROM telemetry WHERE at < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    DELETE FROM telemetry_quarantine WHERE received_at < cutoff;
    RETURN deleted;
END $$;

-- Alerts: the table is shared with SPC (0007). Anomaly alerts keep one live alert per
-- (tenant, kind, subject) through live_key (set while open or acknowledged, cleared on resolve).
ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS live_key text,
    ADD COLUMN IF NOT EXISTS last_seen_at timestamptz,
    ADD COLUMN IF NOT EXISTS occurrences integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS acknowledged_at timestamptz,
    ADD COLUMN IF NOT EXISTS resolved_at timestamptz,
    ADD COLUMN IF NOT EXISTS updated_by uuid;
CREATE UNIQUE INDEX alerts_live ON alerts (tenant_id, live_key) WHERE live_key IS NOT NULL;
CREATE INDEX alerts_listing ON alerts (tenant_id, detected_at DESC, id DESC);
