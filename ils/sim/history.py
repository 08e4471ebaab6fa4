"""Months of lab history, generated offline in seconds (vectorised numpy, not the DES).

``generate_history(start, days, per_day, rng)`` returns plain column tables (dicts of numpy
arrays, one per table) that a loader can turn into CSV and ``COPY`` into PostgreSQL:

- ``orders``: one row per order (remakes included, linked by ``remake_of``), with product, Rx
  summary, created/shipped/delivered times, breakage count and remake category;
- ``visits``: every station visit with queue, start and end times and labour minutes;
- ``breakages``: station, reason code, restart station and time;
- ``inspections``: final-inspection deviations from the ordered powers and pass/fail.

Daily volumes come from ``ils.sim.demand`` (weekday profile, seasonality, holidays); the product
mix from ``ils.sim.order_mix``; station times and failure rates from the same ``LabConfig`` as the
live model. Times are epoch seconds (int64); events after the history's end are not yet known (the
order is still in the lab, ``shipped_at`` is -1). Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO

import numpy as np
import pandas as pd

from ils.domain.station import LINE, Station
from ils.sim.config import LabConfig, default_lab_config
from ils.sim.demand import daily_order_history
from ils.sim.history_flow import REASON_CODES, OrderArrays, breakage_matrix, run_flow
from ils.sim.job import LENS_TYPES, STOCK_CYLINDER, STOCK_SPHERE
from ils.sim.order_mix import COATING_RATES, FRAME_MIX, LENS_MIX, MATERIAL_MIX

COATINGS: tuple[str, ...] = tuple(COATING_RATES)
MATERIALS: tuple[str, ...] = tuple(MATERIAL_MIX)
FRAMES: tuple[str, ...] = tuple(FRAME_MIX)
REMAKE_CATEGORIES = ("none", "lab_error", "practice_change", "warranty", "non_adapt")
#: Remake probability per delivered order by category (DOMAIN.md: about 15% of orders are remade
#: in an average lab, 5% when well managed; these give about 8%, a reasonably managed lab).
REMAKE_RATES = {"lab_error": 0.03, "practice_change": 0.025, "warranty": 0.01}
#: Non-adapt probability by lens type (progressive acceptance averages about 93%).
NON_ADAPT = {"single_vision": 0.004, "bifocal": 0.02, "progressive": 0.07, "occupational": 0.04}
#: Days from delivery to the remake order, (low, high) per category (non-adapts within 90 days,
#: lab errors up to 180).
REMAKE_DELAY_DAYS = {
    "lab_error": (2, 60),
    "practice_change": (2, 30),
    "warranty": (30, 180),
    "non_adapt": (7, 90),
}
INTAKE_HOURS = (8.0, 19.0)
VOCABULARY = {
    "lens_type": LENS_TYPES,
    "material": MATERIALS,
    "frame_type": FRAMES,
    "remake_category": REMAKE_CATEGORIES,
    "station": tuple(s.value for s in LINE),
    "restart_station": tuple(s.value for s in LINE),
    "reason": REASON_CODES,
}
TIME_COLUMNS = frozenset(
    {"created_at", "shipped_at", "delivered_at", "queued_at", "started_at", "ended_at", "at"}
)


@dataclass
class History:
    tables: dict[str, dict[str, np.ndarray]]
    start: date
    days: int

    def size(self, table: str) -> int:
        return len(next(iter(self.tables[table].values())))

    def frame(self, table: str) -> pd.DataFrame:
        """One table as a DataFrame with names instead of codes and UTC timestamps."""
        columns: dict[str, object] = {}
        for name, values in self.tables[table].items():
            if name in VOCABULARY:
                columns[name] = pd.Categorical.from_codes(values, VOCABULARY[name])
            elif name in TIME_COLUMNS:
                stamps = pd.to_datetime(np.where(values < 0, np.nan, values), unit="s", utc=True)
                columns[name] = stamps
            elif name == "coatings":
                columns[name] = [_coating_list(int(m)) for m in values]
            else:
                columns[name] = values
        return pd.DataFrame(columns)

    def write_csv(self, table: str, out: IO[str]) -> None:
        """CSV with a header, ready for ``COPY ... FROM STDIN (FORMAT csv, HEADER)``."""
        self.frame(table).to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")


def _coating_list(mask: int) -> str:
    return "{" + ",".join(c for i, c in enumerate(COATINGS) if mask >> i & 1) + "}"


def _categorical(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(mix.values()))
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.uint8)


def _created(
    start: date, days: int, per_day: float, country: str, rng: np.random.Generator
) -> np.ndarray:
    counts = np.array([n for _, n in daily_order_history(start, days, country, per_day, rng)])
    day0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    day_of = np.repeat(np.arange(days), counts)
    hours = rng.uniform(*INTAKE_HOURS, size=len(day_of))
    return np.sort(day0 + day_of * 86400 + (hours * 3600).astype(np.int64))


def _quarter(x: np.ndarray) -> np.ndarray:
    return np.round(x * 4) / 4


def _products(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    lens = _categorical(rng, LENS_MIX, n)
    # order_mix lists lens types in mix order; store codes in LENS_TYPES order
    lens = np.array([LENS_TYPES.index(t) for t in LENS_MIX], np.uint8)[lens]
    rates = np.array([COATING_RATES[c] for c in COATINGS])
    bits = (rng.random((n, len(COATINGS))) < rates) * (1 << np.arange(len(COATINGS)))
    add = np.where(lens == 0, 0.0, _quarter(np.clip(rng.normal(2.0, 0.5, n), 0.75, 3.5)))
    return {
        "lens_type": lens,
        "material": _categorical(rng, MATERIAL_MIX, n),
        "coatings": bits.sum(axis=1).astype(np.uint16),
        "frame_type": _categorical(rng, FRAME_MIX, n),
        "sphere": _quarter(np.clip(rng.normal(-0.75, 2.6, n), -12.0, 8.0)).astype(np.float32),
        "cylinder": -_quarter(np.clip(rng.gamma(1.3, 0.55, n), 0.0, 6.0)).astype(np.float32),
        "add": add.astype(np.float32),
        "prism": rng.random(n) < 0.04,
    }


def _has(coatings: np.ndarray, name: str) -> np.ndarray:
    return (coatings >> COATINGS.index(name) & 1).astype(bool)


def _order_arrays(p: dict[str, np.ndarray], created: np.ndarray, lab: LabConfig) -> OrderArrays:
    sv = p["lens_type"] == LENS_TYPES.index("single_vision")
    in_stock = (p["sphere"] >= STOCK_SPHERE[0]) & (p["sphere"] <= STOCK_SPHERE[1])
    stock = sv & in_stock & (np.abs(p["cylinder"]) <= STOCK_CYLINDER) & ~p["prism"]
    stock &= ~_has(p["coatings"], "tint")
    p["stock"] = stock
    route = np.ones((len(created), len(LINE)), bool)
    route[:, LINE.index(Station.AR_COAT)] = _has(p["coatings"], "ar")
    route[:, LINE.index(Station.TINTING)] = _has(p["coatings"], "tint")
    route[stock, LINE.index(Station.SURFACING)] = False
    route[stock, LINE.index(Station.HARD_COAT)] = False
    factor = np.ones(route.shape)
    for j, station in enumerate(LINE):
        by_type = lab.stations[station].lens_factor
        factor[:, j] = np.array([by_type.get(t, 1.0) for t in LENS_TYPES])[p["lens_type"]]
    frame_factor = np.array([{"rimless": 1.8, "semi_rimless": 1.3}.get(f, 1.0) for f in FRAMES])
    factor[:, LINE.index(Station.MOUNTING)] *= frame_factor[p["frame_type"]]
    high = (np.abs(p["sphere"]) > 4.0) | (np.abs(p["cylinder"]) > 4.0)
    return OrderArrays(
        start_s=created,
        route=route,
        lens_factor=factor,
        breakage=breakage_matrix(lab, high, p["prism"]),
        progressive=p["lens_type"] == LENS_TYPES.index("progressive"),
        sphere=p["sphere"].astype(np.float64),
        cylinder=p["cylinder"].astype(np.float64),
        add=p["add"].astype(np.float64),
    )


def _produce(
    p: dict[str, np.ndarray],
    created: np.ndarray,
    first_no: int,
    lab: LabConfig,
    ctx: tuple[float, np.random.Generator],
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    utilization, rng = ctx
    n = len(created)
    arrays = _order_arrays(p, created, lab)
    cancelled = rng.random(n) < lab.hold_rate * lab.cancel_after_hold
    arrays.route[cancelled] = False
    arrays.route[cancelled, 0] = True  # cancelled while on hold at order entry
    flow = run_flow(arrays, lab, utilization, rng)
    shipped = np.where(cancelled, -1, np.round(flow.shipped_s)).astype(np.int64)
    mean_transit_s = lab.transit_days_mean * 86400.0
    transit = rng.lognormal(np.log(mean_transit_s) - 0.045, 0.3, n).astype(np.int64)
    orders = {
        "order_no": first_no + np.arange(n, dtype=np.int64),
        "created_at": created.astype(np.int64),
        **p,
        "cancelled": cancelled,
        "shipped_at": shipped,
        "delivered_at": np.where(shipped < 0, -1, shipped + transit),
        "breakages": flow.breakage_count,
        "remake_of": np.full(n, -1, np.int64),
        "remake_category": np.zeros(n, np.uint8),
    }
    tables = {"visits": flow.visits, "breakages": flow.breakages, "inspections": flow.inspections}
    for table in tables.values():
        table["order_no"] = table["order_no"].astype(np.int64) + first_no
    return orders, tables


def _remake_categories(orders: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    n = len(orders["order_no"])
    non_adapt = np.array([NON_ADAPT[t] for t in LENS_TYPES])[orders["lens_type"]]
    fixed = [np.full(n, REMAKE_RATES[c]) for c in REMAKE_CATEGORIES[1:4]]
    cumulative = np.cumsum(np.stack([*fixed, non_adapt], axis=1), axis=1)
    u = rng.random(n)
    category = np.where(u < cumulative[:, -1], (u[:, None] < cumulative).argmax(axis=1) + 1, 0)
    return np.where(orders["delivered_at"] >= 0, category, 0).astype(np.uint8)


def _remakes(
    orders: dict[str, np.ndarray], horizon_s: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    category = _remake_categories(orders, rng)
    idx = np.nonzero(category)[0]
    bounds = np.array([(0, 0)] + [REMAKE_DELAY_DAYS[c] for c in REMAKE_CATEGORIES[1:]])
    low, high = bounds[category[idx], 0], bounds[category[idx], 1]
    created = orders["delivered_at"][idx] + (rng.uniform(low, high) * 86400).astype(np.int64)
    keep = created < horizon_s
    idx, created = idx[keep], created[keep]
    order = np.argsort(created, kind="stable")
    idx, created = idx[order], created[order]
    products = {k: orders[k][idx].copy() for k in _products(0, rng)}
    # A non-adapt is remade into another design: single vision or, for some, a bifocal.
    switch = category[idx] == REMAKE_CATEGORIES.index("non_adapt")
    bifocal = rng.random(len(idx)) < 0.3
    new_type = np.where(bifocal, LENS_TYPES.index("bifocal"), LENS_TYPES.index("single_vision"))
    products["lens_type"] = np.where(switch, new_type, products["lens_type"]).astype(np.uint8)
    is_sv = products["lens_type"] == LENS_TYPES.index("single_vision")
    products["add"] = np.where(is_sv, 0.0, products["add"]).astype(np.float32)
    return products, created, orders["order_no"][idx], category[idx]


def _clip(tables: dict[str, dict[str, np.ndarray]], horizon_s: int) -> None:
    """Forget what had not happened yet at the end of the history."""
    orders = tables["orders"]
    for col in ("shipped_at", "delivered_at"):
        orders[col] = np.where(orders[col] >= horizon_s, -1, orders[col])
    visits = tables["visits"]
    keep = visits["started_at"] < horizon_s
    tables["visits"] = {k: v[keep] for k, v in visits.items()}
    tables["visits"]["ended_at"] = np.where(
        tables["visits"]["ended_at"] >= horizon_s, -1, tables["visits"]["ended_at"]
    )
    for name in ("breakages", "inspections"):
        keep = tables[name]["at"] < horizon_s
        tables[name] = {k: v[keep] for k, v in tables[name].items()}
    for name in ("visits", "breakages", "inspections"):
        for col in TIME_COLUMNS & tables[name].keys():
            tables[name][col] = np.round(tables[name][col]).astype(np.int64)


def generate_history(
    start: date,
    days: int,
    per_day: float,
    rng: np.random.Generator,
    *,
    lab: LabConfig | None = None,
    country: str = "US",
    utilization: float = 0.85,
) -> History:
    """Orders created over ``days`` days from ``start`` (about ``per_day`` on an average day),
    their remakes, and everything that happened to them before the end of the last day."""
    lab = lab or default_lab_config()
    horizon_s = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    horizon_s += days * 86400
    created = _created(start, days, per_day, country, rng)
    orders, tables = _produce(_products(len(created), rng), created, 0, lab, (utilization, rng))
    products, remade_at, remake_of, category = _remakes(orders, horizon_s, rng)
    r_orders, r_tables = _produce(products, remade_at, len(created), lab, (utilization, rng))
    r_orders["remake_of"], r_orders["remake_category"] = remake_of, category
    merged = {"orders": {k: np.concatenate([orders[k], r_orders[k]]) for k in orders}}
    for name, table in tables.items():
        merged[name] = {k: np.concatenate([table[k], r_tables[name][k]]) for k in table}
    _clip(merged, horizon_s)
    return History(merged, start, days)
