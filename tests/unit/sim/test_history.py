from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest

from ils.domain.station import LINE, Station
from ils.sim.history import COATINGS, LENS_TYPES, History, generate_history

START = date(2025, 3, 3)


@pytest.fixture(scope="module")
def history() -> History:
    return generate_history(START, 120, 300, np.random.default_rng(42))


def test_same_seed_same_history_other_seed_differs(history: History) -> None:
    again = generate_history(START, 120, 300, np.random.default_rng(42))
    other = generate_history(START, 120, 300, np.random.default_rng(43))
    for name, table in history.tables.items():
        for col, values in table.items():
            assert np.array_equal(values, again.tables[name][col]), (name, col)
    assert not np.array_equal(
        history.tables["orders"]["created_at"][:100], other.tables["orders"]["created_at"][:100]
    )


def test_volume_is_about_per_day_with_weekends_low(history: History) -> None:
    orders = history.tables["orders"]
    originals = orders["remake_of"] < 0
    assert 0.7 * 120 * 300 < originals.sum() < 1.3 * 120 * 300
    weekday = (orders["created_at"][originals] // 86400 + 3) % 7  # 0 = Monday
    counts = np.bincount(weekday, minlength=7)
    assert counts[6] < counts[0] / 2


def test_rates_are_plausible(history: History) -> None:
    orders = history.tables["orders"]
    shipped = orders["shipped_at"] >= 0
    assert 0.9 < shipped.mean() <= 1.0
    broke = (orders["breakages"] > 0).mean()
    assert 0.02 < broke < 0.35
    assert 0.8 < history.tables["inspections"]["passed"].mean() < 1.0
    remade = (orders["remake_of"] >= 0).sum() / (orders["remake_of"] < 0).sum()
    assert 0.01 < remade < 0.25
    lead_days = (orders["shipped_at"] - orders["created_at"])[shipped] / 86400
    assert 0 < np.median(lead_days) < 5


def test_visit_times_are_ordered_and_follow_routes(history: History) -> None:
    v = history.tables["visits"]
    done = v["ended_at"] >= 0
    assert np.all(v["queued_at"] <= v["started_at"])
    assert np.all(v["started_at"][done] <= v["ended_at"][done])
    assert np.all(v["labour_min"] > 0)
    orders = history.tables["orders"]
    first = v["attempt"] == 0
    stock = orders["stock"][v["order_no"]]
    surfacing = v["station"] == LINE.index(Station.SURFACING)
    assert not np.any(first & stock & surfacing)
    ar_bit = 1 << COATINGS.index("ar")
    has_ar = (orders["coatings"][v["order_no"]] & ar_bit) > 0
    assert not np.any((v["station"] == LINE.index(Station.AR_COAT)) & ~has_ar)


def test_breakages_restart_earlier_and_are_counted(history: History) -> None:
    b = history.tables["breakages"]
    assert len(b["order_no"]) > 0
    assert np.all(b["restart_station"] < b["station"])
    counts = np.bincount(b["order_no"], minlength=len(history.tables["orders"]["order_no"]))
    recorded = history.tables["orders"]["breakages"]
    assert np.all(counts <= recorded)  # breakages after the history's end are not yet known
    assert counts.sum() > 0.95 * recorded.sum()


def test_remakes_follow_delivery_and_non_adapts_change_design(history: History) -> None:
    orders = history.tables["orders"]
    remakes = np.nonzero(orders["remake_of"] >= 0)[0]
    original = orders["remake_of"][remakes]
    assert np.all(orders["created_at"][remakes] > orders["delivered_at"][original])
    assert np.all(orders["delivered_at"][original] >= 0)
    non_adapt = orders["remake_category"][remakes] == 4
    assert non_adapt.any()
    assert not np.any(orders["lens_type"][remakes][non_adapt] == LENS_TYPES.index("progressive"))


def test_csv_has_a_header_and_one_line_per_row() -> None:
    small = generate_history(START, 7, 20, np.random.default_rng(1))
    out = io.StringIO()
    small.write_csv("orders", out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("order_no,created_at,lens_type")
    assert len(lines) == small.size("orders") + 1
    assert "T" in lines[1].split(",")[1] and lines[1].split(",")[1].endswith("Z")
