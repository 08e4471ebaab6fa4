"""Daily sums of order facts: incremental == recomputation, and the figures they give equal the
KPIs, costs and revenue computed over the orders themselves (``ils.analytics.kpi``)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from ils.analytics import figures, kpi
from ils.analytics.cost import CostBook, cents
from ils.analytics.figures import PeriodSums
from ils.analytics.kpi import Breakage, JobOutcome, Period, StationPass
from ils.analytics.order_facts import (
    CYCLE_RESOLUTION,
    OrderFacts,
    Sums,
    booked,
    change,
    contributions,
    cycle_bucket,
    fold,
    from_record,
    percentile,
    recompute,
    redone_minutes,
    to_record,
)

START = datetime(2026, 10, 25, tzinfo=UTC)
STATIONS = ("picking", "surfacing", "hard_coat", "edging", "mounting", "final_inspection")
REASONS = ("chip", "scratch", "power")
TYPES = ("progressive", "single_vision", "bifocal")
MATERIALS = ("1.60", "cr39")
PRACTICES = ("p1", "p2")


def random_facts(rng: np.random.Generator, order_id: str) -> OrderFacts:
    created = START + timedelta(minutes=int(rng.integers(0, 20 * 1440)))
    shipped = cancelled = None
    if rng.random() < 0.7:
        shipped = created + timedelta(minutes=float(rng.uniform(0.5, 9 * 1440)))
    if rng.random() < 0.1:
        cancelled = created + timedelta(hours=float(rng.uniform(0, 48)))
    labour = tuple(
        (s, D(str(round(float(rng.uniform(1, 90)), 3)))) for s in STATIONS if rng.random() < 0.5
    )
    breakages = tuple(
        Breakage(str(rng.choice(STATIONS)), str(rng.choice(REASONS)), str(rng.choice(STATIONS)))
        for _ in range(int(rng.integers(0, 3)))
    )
    passes = tuple(
        sorted(
            (s, (created + timedelta(hours=float(rng.uniform(0, 200)))).date())
            for s in STATIONS
            if rng.random() < 0.4
        )
    )
    return OrderFacts(
        order_id=order_id,
        practice_id=str(rng.choice(PRACTICES)),
        created_at=created,
        lens_type=str(rng.choice(TYPES)),
        design=str(rng.choice(("D1", "D2", "unspecified"))),
        material=str(rng.choice(MATERIALS)),
        due_date=(created + timedelta(days=int(rng.integers(1, 8)))).date()
        if rng.random() < 0.9
        else None,
        remake_of="o0" if rng.random() < 0.15 and order_id != "o0" else None,
        shipped_at=shipped,
        cancelled_at=cancelled,
        first_pass=None if rng.random() < 0.2 else bool(rng.random() < 0.8),
        breakages=breakages,
        remake_category=str(rng.choice(("lab_error", "non_adapt"))) if rng.random() < 0.1 else None,
        non_adapt=bool(rng.random() < 0.05),
        labour_minutes=labour,
        passes=passes,
    )


def job_of(f: OrderFacts) -> JobOutcome:
    return JobOutcome(
        order_id=f.order_id, lens_type=f.lens_type, design=f.design, material=f.material,
        created_at=f.created_at, due_date=f.due_date, shipped_at=f.shipped_at,
        first_pass=f.first_pass, breakages=f.breakages, remake_category=f.remake_category,
        non_adapt=f.non_adapt, labour_minutes={s: float(m) for s, m in f.labour_minutes},
        cancelled_at=f.cancelled_at, product=f.product, remake_of=f.remake_of,
    )  # fmt: skip


def period_sums(sums: Sums, first: date, last: date, as_of: datetime) -> PeriodSums:
    amounts: dict[tuple[str, str], D] = {}
    later: dict[tuple[str, str], D] = {}
    for (day, metric, key), amount in sums.items():
        if first <= day <= last:
            amounts[(metric, key)] = amounts.get((metric, key), D(0)) + amount
            if day >= as_of.date():
                later[(metric, key)] = later.get((metric, key), D(0)) + amount
    return PeriodSums(amounts, later)


def wip(sums: Sums, end: date) -> int:
    return int(
        sum(a for (d, m, _), a in sums.items() if m == "created" and d < end)
        - sum(a for (d, m, _), a in sums.items() if m == "closed" and d < end)
    )


@pytest.mark.parametrize("seed", range(4))
def test_incremental_sums_equal_a_recomputation(seed: int) -> None:
    """Random streams of fact changes (new orders, orders whose facts change, repeats), in any
    order: the sums moved by each change equal the sums recomputed from the final facts."""
    rng = np.random.default_rng(seed)
    current: dict[str, OrderFacts] = {}
    sums: Sums = {}
    for _ in range(200):
        order_id = f"o{int(rng.integers(0, 40))}"
        new = random_facts(rng, order_id) if rng.random() < 0.9 else current.get(order_id)
        fold([change(current.get(order_id), new)], sums)
        if new is not None:
            current[order_id] = new
    assert sums == recompute(current.values())
    assert all(v != 0 for v in sums.values())
    shuffled = list(current.values())
    rng.shuffle(shuffled)
    assert recompute(shuffled) == sums


@pytest.mark.parametrize("seed", range(4))
def test_figures_from_the_sums_equal_the_kpis_over_the_orders(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    facts = [random_facts(rng, f"o{i}") for i in range(150)]
    jobs = [job_of(f) for f in facts]
    sums = recompute(facts)
    first, last = date(2026, 11, 1), date(2026, 11, 10)
    period = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
    for as_of in (period.end, datetime(2026, 11, 7, 13, 30, tzinfo=UTC)):
        wip_end = as_of.date() + timedelta(days=0 if as_of == period.end else 1)
        body = figures.production_kpis(
            period_sums(sums, first, last, as_of), period, as_of, wip(sums, wip_end)
        )
        passes = [StationPass(f.order_id, s, datetime(d.year, d.month, d.day, 12, tzinfo=UTC))
                  for f in facts for s, d in f.passes]  # fmt: skip
        ref = kpi.production_kpis(jobs, passes, period, as_of)
        if as_of != period.end:  # the open days' unshipped orders exist only before as_of here
            ref["wip"] = kpi.wip_at([j for j in jobs if j.created_at <= as_of], as_of).as_dict()
        for name in ref:
            if name in ("cycle_time_hours", "on_time_rate", "wip"):
                continue
            assert _close(body[name], ref[name]), name
        assert _close(body["on_time_rate"], ref["on_time_rate"]) or as_of != period.end
        assert body["wip"]["value"] == kpi.wip_at(jobs, as_of).value or as_of != period.end
    _check_cycle(body["cycle_time_hours"], jobs, period)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _check_cycle(cycle: dict[str, dict[str, dict]], jobs: list[JobOutcome], period: Period) -> None:
    hours: dict[str, list[float]] = {}
    for j in kpi.shipped_in(jobs, period):
        assert j.shipped_at is not None
        hours.setdefault(j.lens_type, []).append(
            (j.shipped_at - j.created_at).total_seconds() / 3600
        )
    assert set(cycle) == set(hours)
    for lens_type, values in hours.items():
        ordered = sorted(values)
        for q in (50, 90):
            exact = ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]  # nearest rank
            figure = cycle[lens_type][f"p{q}"]
            assert figure["n"] == len(values)
            assert abs(figure["value"] - exact) <= CYCLE_RESOLUTION * exact + 1e-9


def test_cost_and_revenue_totals_equal_the_orders_summed_by_hand() -> None:
    rng = np.random.default_rng(7)
    facts = [random_facts(rng, f"o{i}") for i in range(120)]
    book = CostBook(
        currency="USD",
        blank_cost={f"{t}/{m}": D(10 + 3 * i) for i, (t, m) in
                    enumerate((t, m) for t in TYPES for m in MATERIALS)},
        labour_rate_per_hour={s: D(20 + 2 * i) for i, s in enumerate(STATIONS)},
        overhead_pool=D("700.00"),
    )  # fmt: skip
    prices = {("p1", "progressive/1.60"): D("150.00"), ("p2", "bifocal/cr39"): None}
    period = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    sums = period_sums(recompute(facts), date(2026, 11, 1), date(2026, 11, 7), period.end)
    table = {k: prices.get(k, D("99.00")) for k in
             ((p, f.product) for f in facts for p in PRACTICES)}  # fmt: skip
    body = figures.cost_summary(sums, book, table)
    shipped = [f for f in facts if f.shipped and period.contains(f.shipped_at)]
    exact = {"materials": D(0), "labour": D(0), "breakage": D(0), "remake": D(0)}
    for f in shipped:
        blank = book.blank_cost[f.product]
        rate = book.labour_rate_per_hour
        labour = sum((rate[s] * m / 60 for s, m in f.labour_minutes), D(0))
        redo = sum((rate[s] * m / 60 for s, m in redone_minutes(f).items()), D(0))
        own = {
            "materials": blank * 2,
            "labour": labour,
            "breakage": blank * len(f.breakages) + redo,
        }
        if f.remake_of is None:
            for k, v in own.items():
                exact[k] += v
        else:
            exact["remake"] += sum(own.values(), D(0))
    totals = {k: D(v["amount"]) for k, v in body["totals"].items()}
    for name, value in exact.items():
        assert totals[name] == cents(value), name
    assert totals["overhead"] == D("700.00")
    revenue = sum((table[(f.practice_id, f.product)] or D(0) for f in shipped), D(0))
    assert totals["revenue"] == revenue and body["orders"] == len(shipped)
    assert totals["total"] == sum((totals[k] for k in (*exact, "overhead")), D(0))


def test_a_missing_rate_or_blank_cost_is_named() -> None:
    f = random_facts(np.random.default_rng(3), "o1")
    f = OrderFacts(**{**f.__dict__, "shipped_at": datetime(2026, 11, 2, tzinfo=UTC),
                      "cancelled_at": None, "labour_minutes": (("edging", D(5)),)})  # fmt: skip
    sums = period_sums(recompute([f]), date(2026, 11, 1), date(2026, 11, 7), START)
    book = CostBook("USD", {}, {}, D(0))
    missing = figures.missing_in_book(sums, book)
    assert missing == {"labour_rate_per_hour": ["edging"], "blank_cost": [f.product]}


def test_cycle_buckets_and_nearest_rank_percentile() -> None:
    assert cycle_bucket(0.2) == 0 and cycle_bucket(1.0) == 0
    assert cycle_bucket(2.0) == 12 and cycle_bucket(1.99) == 11
    assert cycle_bucket(60.0) == math.floor(math.log2(60) * 12)
    histogram = {10: 3, 20: 1, 30: 1}
    assert percentile({}, 50) is None
    assert percentile(histogram, 50) == pytest.approx(2 ** (10.5 / 12))  # 3rd of 5
    assert percentile(histogram, 60) == pytest.approx(2 ** (10.5 / 12))  # rank 3
    assert percentile(histogram, 61) == pytest.approx(2 ** (20.5 / 12))  # rank ceil(3.05) = 4
    assert percentile(histogram, 90) == pytest.approx(2 ** (30.5 / 12))


def test_booked_labour_and_passes_from_station_history() -> None:
    day = 86400 * 20000  # 2024-10-04
    rows = [
        ("edging", "in_process", D(day + 600)),
        ("edging", "done", D(day + 1500)),  # 15 min
        ("edging", "in_process", D(day + 3000)),
        ("edging", "done", D(day + 3300)),  # 5 min
        ("surfacing", "in_process", D(day + 100)),  # unfinished: books nothing
    ]
    labour, passes = booked(rows)
    assert labour == (("edging", D("20.000")),)
    assert passes == (("edging", date(2024, 10, 4)), ("edging", date(2024, 10, 4)))


def test_contributions_land_on_their_days_and_records_round_trip() -> None:
    f = OrderFacts(
        "o1", "p1", datetime(2026, 11, 1, 22, tzinfo=UTC), "progressive", "D1", "1.60",
        due_date=date(2026, 11, 4), shipped_at=datetime(2026, 11, 3, 9, tzinfo=UTC),
        first_pass=False, breakages=(Breakage("edging", "chip", "surfacing"),),
        labour_minutes=(("edging", D("10.500")), ("surfacing", D("30"))),
        passes=(("edging", date(2026, 11, 2)),),
    )  # fmt: skip
    c = contributions(f)
    ship, due = date(2026, 11, 3), date(2026, 11, 4)
    assert c[(date(2026, 11, 1), "created", "")] == 1 and c[(ship, "closed", "")] == 1
    assert c[(ship, "inspected", "")] == 1 and (ship, "first_pass", "") not in c
    assert c[(due, "due_on_time", "")] == 1 and c[(date(2026, 11, 2), "passes", "edging")] == 1
    assert c[(ship, "redo_min", "own|surfacing")] == D("30")
    assert c[(ship, "redo_min", "own|edging")] == D("10.500")
    assert c[(ship, "shipped_by_price", "p1|progressive/1.60")] == 1
    assert from_record(to_record(f)) == f
    assert change(f, f) == {} and change(None, f) == c
