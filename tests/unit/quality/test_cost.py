"""Cost model on a small dataset computed by hand (see the comments for the arithmetic)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from ils.analytics.cost import CostBook, allocate, cost_summary, order_costs, redone_stations
from ils.analytics.kpi import Breakage, JobOutcome

T0 = datetime(2026, 11, 2, tzinfo=UTC)
BOOK = CostBook(
    currency="USD",
    blank_cost={"PAL-160": D("12.50"), "SV-CR39": D("3.00")},
    labour_rate_per_hour={
        "surfacing": D("30"),
        "hard_coat": D("18"),
        "edging": D("24"),
        "final_inspection": D("20"),
    },
    overhead_pool=D("100.00"),
)


def job(
    order_id: str, product: str, minutes: dict[str, float], price: str, **kw: object
) -> JobOutcome:
    return JobOutcome(
        order_id, "progressive", None, "1.60", T0, labour_minutes=minutes, product=product,
        price=D(price), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


JOBS = [
    # A: blanks 2 x 12.50 = 25.00; labour 20/60*30 + 10/60*18 + 15/60*24 = 10 + 3 + 6 = 19.00;
    # broken at edging, restarted at surfacing: 12.50 + 19.00 = 31.50; labour hours 0.75 + 0.75.
    job(
        "A",
        "PAL-160",
        {"surfacing": 20, "hard_coat": 10, "edging": 15},
        "180.00",
        breakages=(Breakage("edging", "chip", restart_station="surfacing"),),
    ),
    # B: blanks 6.00, labour 10/60*24 = 4.00, hours 1/6.
    job("B", "SV-CR39", {"edging": 10}, "60.00"),
    # R remakes B: blanks 6.00, labour 5/60*24 + 3/60*20 = 3.00, direct 9.00, hours 8/60.
    job("R", "SV-CR39", {"edging": 5, "final_inspection": 3}, "0", remake_of="B"),
    # C remakes an order outside the data: its own line, blanks 6.00, no labour.
    job("C", "SV-CR39", {}, "0", remake_of="Z"),
]


def test_order_lines_by_hand() -> None:
    a, b, c = order_costs(JOBS, BOOK)
    assert (a.materials, a.labour, a.breakage, a.remake) == (D("25.00"), D("19.00"), D("31.50"), 0)
    # Overhead 100.00 by labour hours: A 1.5 h, B 0.3 h (with its remake), C 0 h.
    # 83.333.. and 16.666..: floors 83.33 + 16.66, the last cent to B (larger remainder).
    assert (a.overhead, b.overhead, c.overhead) == (D("83.33"), D("16.67"), D("0.00"))
    assert a.total == D("158.83")
    assert a.margin == D("21.17")
    assert a.margin_pct == D("11.76")
    assert b.remakes == ("R",)
    assert (b.materials, b.labour, b.remake) == (D("6.00"), D("4.00"), D("9.00"))
    assert b.total == D("35.67")
    assert b.margin_pct == D("40.55")
    assert (c.order_id, c.total, c.revenue, c.margin_pct) == ("C", D("6.00"), D("0.00"), None)


def test_summary_totals_by_hand() -> None:
    summary = cost_summary(JOBS, BOOK)
    totals = {k: v["amount"] for k, v in summary["totals"].items()}
    assert totals == {
        "materials": "37.00",
        "labour": "23.00",
        "breakage": "31.50",
        "remake": "9.00",
        "overhead": "100.00",
        "total": "200.50",
        "revenue": "240.00",
        "margin": "39.50",
    }
    assert summary["margin_pct"] == "16.46"
    assert summary["orders"] == 3
    assert summary["lines"][0]["total"] == {"amount": "158.83", "currency": "USD"}


def test_allocation_splits_cents_exactly() -> None:
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("1.00"), [D(0), D(0)]) == [D("0.50"), D("0.50")]
    shares = allocate(D("99.99"), [D("0.7"), D("1.3"), D("2.9")])
    assert sum(shares) == D("99.99")
    assert allocate(D("5"), []) == []


def test_redone_stations_follow_the_line() -> None:
    booked = ["picking", "surfacing", "hard_coat", "edging", "mounting"]
    assert redone_stations(Breakage("edging", "chip", "surfacing"), booked) == [
        "surfacing",
        "hard_coat",
        "edging",
    ]
    assert redone_stations(Breakage("mounting", "crack"), booked) == ["mounting"]
    with pytest.raises(ValueError):
        redone_stations(Breakage("polishing", "crack"), booked)


def test_missing_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="blank cost"):
        order_costs([job("X", "UNKNOWN", {}, "1")], BOOK)
    with pytest.raises(ValueError, match="labour rate"):
        order_costs([job("X", "SV-CR39", {"tinting": 5}, "1")], BOOK)
