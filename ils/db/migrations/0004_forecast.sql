-- Demand forecasting: the daily order history a lab imported from its previous system.
-- Live orders are not copied here: they are counted from `orders` when a forecast is fitted.

CREATE TABLE demand_history (
    lab_id       uuid NOT NULL REFERENCES tenants(id),
    day          date NOT NULL,
    orders       integer NOT NULL CHECK (orders >= 0),
    imported_at  timestamptz NOT NULL,
    PRIMARY KEY (lab_id, day)
);

