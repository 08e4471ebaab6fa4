"""Vectorised station flow for offline history: every order's visits, breakages and inspections.

The discrete-event model is exact but handles a few thousand jobs a second; months of history for
a large lab need millions. This flow replaces queue simulation by the queueing relation DOMAIN.md
gives (a job waits about u / (1 - u) times the process time at utilisation u), draws service times
from the same station profiles as the live model, and processes all orders of one attempt at once.
A broken job starts a new attempt at its restart station; after ``MAX_ATTEMPTS`` attempts the job is
let through (more breakages than that happen to well under 0.1% of jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ils.domain.station import LINE, Station
from ils.sim.breakage import FINISHING, REASONS
from ils.sim.config import LabConfig
from ils.sim.inspection import axis_tolerances, cylinder_tolerances, sphere_tolerances

MAX_ATTEMPTS = 3
COL = {station: i for i, station in enumerate(LINE)}
REASON_CODES: tuple[str, ...] = tuple(
    dict.fromkeys(code for reasons in REASONS.values() for code, _, _ in reasons)
)
FI = COL[Station.FINAL_INSPECTION]
PICKING = COL[Station.PICKING]


@dataclass
class OrderArrays:
    """The per-order inputs of the flow (one entry per order, all the same length)."""

    start_s: np.ndarray  # int64 epoch seconds when the order reaches the lab
    route: np.ndarray  # bool (n, len(LINE))
    lens_factor: np.ndarray  # float (n, len(LINE)) service-time multipliers
    breakage: np.ndarray  # float (n, len(LINE)) breakage probability per visit
    progressive: np.ndarray
    sphere: np.ndarray
    cylinder: np.ndarray
    add: np.ndarray  # 0 for single vision


@dataclass
class FlowTables:
    visits: dict[str, np.ndarray]
    breakages: dict[str, np.ndarray]
    inspections: dict[str, np.ndarray]
    shipped_s: np.ndarray  # int64 epoch seconds each order left the lab
    breakage_count: np.ndarray


def breakage_matrix(lab: LabConfig, high_power: np.ndarray, prism: np.ndarray) -> np.ndarray:
    base = np.array([lab.stations[s].breakage for s in LINE])
    base = base * np.array([lab.finishing_breakage_factor if s in FINISHING else 1.0 for s in LINE])
    factor = np.where(high_power, lab.high_power_breakage_factor, 1.0)
    factor = factor * np.where(prism, lab.prism_breakage_factor, 1.0)
    return np.minimum(base[None, :] * factor[:, None], 1.0)


def _service(lab: LabConfig, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(factor.shape)
    for j, station in enumerate(LINE):
        st = lab.stations[station].service
        mean = st.mean_min * factor[:, j]
        if st.dist == "gamma":
            shape = 1.0 / st.cv**2
            out[:, j] = rng.gamma(shape, mean / shape)
        else:
            s2 = np.log1p(st.cv**2)
            out[:, j] = np.exp(np.log(mean) - s2 / 2 + np.sqrt(s2) * rng.standard_normal(len(mean)))
    return out


def _waits(
    lab: LabConfig, service: np.ndarray, util: float, rng: np.random.Generator
) -> np.ndarray:
    waits = rng.exponential(1.0, service.shape) * service * (util / (1.0 - util))
    for j, station in enumerate(LINE):
        profile = lab.stations[station]
        if profile.is_batch:
            waits[:, j] = rng.uniform(0.0, profile.batch_wait_min, len(service))
    return waits


def _labour(lab: LabConfig, service: np.ndarray) -> np.ndarray:
    labour = service.copy()
    for j, station in enumerate(LINE):
        profile = lab.stations[station]
        if profile.is_batch:
            labour[:, j] = profile.load_min / profile.batch_size
    return labour


def _inspect(
    o: OrderArrays, idx: np.ndarray, noise: float, rng: np.random.Generator, last: bool
) -> tuple[np.ndarray, np.ndarray]:
    prog = o.progressive[idx]
    axis = axis_tolerances(o.cylinder[idx])
    tols = np.stack(
        [
            sphere_tolerances(o.sphere[idx], prog),
            cylinder_tolerances(o.cylinder[idx], prog),
            np.where(np.isinf(axis), 0.0, axis),
            np.where(o.add[idx] > 0, 0.12, 0.0),
        ],
        axis=1,
    )
    dev = rng.standard_normal(tols.shape) * noise * tols
    if last:  # the final attempt is let through: the lab re-measures until it passes
        dev = np.clip(dev, -tols, tols)
    passed = np.all(np.abs(dev) <= tols, axis=1)
    return dev, passed


def _reasons(stations: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Reason code index and reworkable flag for each broken visit."""
    codes = np.zeros(len(stations), np.uint8)
    rework = np.zeros(len(stations), bool)
    for col in np.unique(stations):
        rows = np.nonzero(stations == col)[0]
        reasons = REASONS[LINE[col]]
        weights = np.array([w for _, w, _ in reasons])
        pick = rng.choice(len(reasons), size=len(rows), p=weights / weights.sum())
        codes[rows] = np.array([REASON_CODES.index(code) for code, _, _ in reasons])[pick]
        rework[rows] = np.array([r for _, _, r in reasons])[pick]
    return codes, rework


def _restart(route: np.ndarray, first: np.ndarray, rework: np.ndarray) -> np.ndarray:
    cols = np.arange(route.shape[1])
    before = route & (cols[None, :] < first[:, None])
    previous = route.shape[1] - 1 - np.argmax(before[:, ::-1], axis=1)
    new_blank = np.where(first > PICKING, PICKING, 0)
    return np.where(rework & before.any(axis=1), previous, new_blank)


@dataclass
class _Attempt:
    visits: dict[str, np.ndarray]
    inspections: dict[str, np.ndarray]
    breakages: dict[str, np.ndarray]
    done: np.ndarray  # order indices that shipped in this attempt
    shipped_s: np.ndarray
    broken: np.ndarray  # order indices that restart
    restart_s: np.ndarray
    restart_col: np.ndarray


def _attempt(
    o: OrderArrays,
    idx: np.ndarray,
    t0: np.ndarray,
    col0: np.ndarray,
    attempt: int,
    ctx: tuple[LabConfig, float, np.random.Generator],
) -> _Attempt:
    lab, util, rng = ctx
    last = attempt == MAX_ATTEMPTS - 1
    cols = np.arange(len(LINE))
    mask = o.route[idx] & (cols[None, :] >= col0[:, None])
    service = _service(lab, o.lens_factor[idx], rng)
    wait = _waits(lab, service, util, rng)
    broke = (rng.random(mask.shape) < (0.0 if last else o.breakage[idx])) & mask
    dev, passed = _inspect(o, idx, lab.inspection_noise, rng, last)
    broke[:, FI] |= mask[:, FI] & ~passed & ~broke[:, :FI].any(axis=1)
    has_break = broke.any(axis=1)
    first = np.where(has_break, broke.argmax(axis=1), len(LINE))
    mask &= cols[None, :] <= first[:, None]
    end = t0[:, None] + np.cumsum((wait + service) * mask, axis=1) * 60.0
    visits = _visit_table(idx[:, None], mask, (wait, service, end), first, attempt, lab)
    seen = mask[:, FI] & (first >= FI)
    inspections = {
        "order_no": idx[seen],
        "at": end[seen, FI],
        "passed": passed[seen],
        "sphere_dev": dev[seen, 0].astype(np.float32),
        "cylinder_dev": dev[seen, 1].astype(np.float32),
        "axis_dev": dev[seen, 2].astype(np.float32),
    }
    hb = np.nonzero(has_break)[0]
    reason, rework = _reasons(first[hb], rng)
    restart = _restart(o.route[idx][hb], first[hb], rework)
    breakages = {
        "order_no": idx[hb],
        "station": first[hb].astype(np.uint8),
        "reason": reason,
        "restart_station": restart.astype(np.uint8),
        "at": end[hb, first[hb]],
    }
    ok = np.nonzero(~has_break)[0]
    return _Attempt(
        visits, inspections, breakages, idx[ok], end[ok, -1], idx[hb], end[hb, first[hb]], restart
    )


def _visit_table(
    orders: np.ndarray,
    mask: np.ndarray,
    times: tuple[np.ndarray, np.ndarray, np.ndarray],
    first: np.ndarray,
    attempt: int,
    lab: LabConfig,
) -> dict[str, np.ndarray]:
    wait, service, end = times
    started = end - service * 60.0
    r, c = np.nonzero(mask)
    return {
        "order_no": orders[r, 0],
        "station": c.astype(np.uint8),
        "attempt": np.full(len(r), attempt, np.uint8),
        "queued_at": started[r, c] - wait[r, c] * 60.0,
        "started_at": started[r, c],
        "ended_at": end[r, c],
        "labour_min": _labour(lab, service)[r, c].astype(np.float32),
        "broke": c == first[r],
    }


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def run_flow(
    o: OrderArrays, lab: LabConfig, utilization: float, rng: np.random.Generator
) -> FlowTables:
    n = len(o.start_s)
    shipped = np.zeros(n, np.float64)
    breakage_count = np.zeros(n, np.uint8)
    idx = np.arange(n)
    t0 = o.start_s.astype(np.float64)
    col0 = np.zeros(n, np.int64)
    visits, inspections, breakages = [], [], []
    for attempt in range(MAX_ATTEMPTS):
        step = _attempt(o, idx, t0, col0, attempt, (lab, utilization, rng))
        visits.append(step.visits)
        inspections.append(step.inspections)
        breakages.append(step.breakages)
        shipped[step.done] = step.shipped_s
        breakage_count[step.broken] += 1
        idx, t0, col0 = step.broken, step.restart_s, step.restart_col
        if len(idx) == 0:
            break
    return FlowTables(
        _concat(visits), _concat(breakages), _concat(inspections), shipped, breakage_count
    )
