-- Bottlenecks: sampled station state (utilisation over time, and the history the per-lab
-- BottleneckModel is rebuilt from) and each lab's current constraint and recommendation.

-- One row per lab station per sample (at most every 30 s of the LIMS's time while jobs move):
-- jobs waiting, jobs in process, staffed servers, cumulative arrivals (queued movements) and the
-- station's rolling mean service time (0: unknown).
CREATE TABLE station_samples (
    lab_id            uuid NOT NULL REFERENCES tenants(id),
    at                timestamptz NOT NULL,
    station           text NOT NULL,
    queue             integer NOT NULL CHECK (queue >= 0),
    in_process        integer NOT NULL CHECK (in_process >= 0),
    capacity          integer NOT NULL CHECK (capacity >= 0),
    arrived           bigint NOT NULL CHECK (arrived >= 0),
    service_mean_min  double precision NOT NULL CHECK (service_mean_min >= 0),
    PRIMARY KEY (lab_id, at, station)
);

-- The lab's current constraint (null station: none found) since when, and the last
-- recommendation the twin confirmed (with the model time of the state it was computed on).
CREATE TABLE lab_bottlenecks (
    lab_id          uuid PRIMARY KEY REFERENCES tenants(id),
    station         text,
    since           timestamptz,
    confidence      double precision NOT NULL,
    evidence        jsonb NOT NULL,
    detected_at     timestamptz NOT NULL,
    recommendation  jsonb,
    recommended_at  timestamptz
);
