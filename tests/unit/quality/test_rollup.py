"""Incremental rollups: bucketing, per-event deltas, and fold(deltas) == recompute(events)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ils.analytics.rollup import (
    RollupState,
    apply,
    bucket_start,
    fold,
    recompute,
    series,
)

NOW = datetime(2026, 11, 25, 14, 3, tzinfo=UTC)
LATE_EST = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))


@pytest.mark.parametrize(
    ("moment", "granularity", "expected"),
    [
        (NOW, "day", date(2026, 11, 25)),
        (NOW, "week", date(2026, 11, 23)),
        (NOW, "month", date(2026, 11, 1)),
        (datetime(2027, 1, 1, tzinfo=UTC), "week", date(2026, 12, 28)),  # ISO week 53 of 2026
        (LATE_EST, "day", date(2026, 12, 1)),
        (LATE_EST, "month", date(2026, 12, 1)),
    ],
)
def test_bucket_start(moment: datetime, granularity: str, expected: date) -> None:
    assert bucket_start(moment, granularity) == expected


def test_shipping_adds_counts_and_cycle_time_at_every_granularity() -> None:
    event = {
        "id": "e1",
        "type": "order.status_changed",
        "to": "shipped",
        "tenant_id": "lab",
        "occurred_at": NOW,
        "created_at": (NOW - timedelta(minutes=90, seconds=30)).isoformat(),
    }
    deltas = apply(RollupState(), event)
    daily = {d.metric: d.amount for d in deltas if d.granularity == "day"}
    assert daily == {
        "orders_shipped": Decimal(1),
        "cycle_time_sum_min": Decimal("90.500"),
        "cycle_time_count": Decimal(1),
    }
    assert {d.granularity for d in deltas} == {"day", "week", "month"}
    assert len(deltas) == 9


@pytest.mark.parametrize(
    ("event", "metrics"),
    [
        ({"type": "order.created"}, {"orders_created"}),
        ({"type": "order.status_changed", "to": "completed"}, {"orders_completed"}),
        ({"type": "order.status_changed", "to": "cancelled"}, {"orders_cancelled"}),
        ({"type": "order.status_changed", "to": "shipped"}, {"orders_shipped"}),
        ({"type": "order.status_changed", "to": "on_hold"}, set()),
        (
            {"type": "order.status_changed", "to": "shipped", "order": {"created_at": NOW}},
            {"orders_shipped", "cycle_time_sum_min", "cycle_time_count"},
        ),
        ({"type": "order.shipped"}, set()),
        ({"type": "breakage.recorded"}, {"breakages"}),
        ({"type": "order.created", "order": {"remake_of": "o1"}}, {"orders_created", "remakes"}),
        ({"type": "order.created", "order": {"remake_of": None}}, {"orders_created"}),
        ({"type": "inspection.recorded", "pass": True}, {"inspections"}),
        ({"type": "inspection.recorded", "pass": False}, {"inspections", "inspections_failed"}),
        (
            {"type": "inspection.recorded", "ils_pass": False, "lims_pass": True},
            {"inspections", "inspections_failed"},
        ),
        ({"type": "inspection.recorded", "ils_pass": None, "lims_pass": True}, {"inspections"}),
        (
            {"type": "inspection.recorded", "ils_pass": None, "lims_pass": False},
            {"inspections", "inspections_failed"},
        ),
        ({"type": "alert.raised"}, set()),
    ],
)
def test_metrics_per_event_type(event: dict[str, Any], metrics: set[str]) -> None:
    deltas = apply(RollupState(), {**event, "tenant_id": "lab", "occurred_at": NOW})
    assert {d.metric for d in deltas} == metrics


def test_a_replayed_event_adds_nothing() -> None:
    state = RollupState()
    event = {"id": "e1", "type": "order.created", "tenant_id": "lab", "occurred_at": NOW}
    assert apply(state, event)
    assert apply(state, dict(event)) == []
    assert apply(state, {**event, "tenant_id": "practice"})  # ids are unique per tenant only
    assert state.totals[("lab", "orders_created", "month", date(2026, 11, 1))] == 1


def test_bad_events_are_refused() -> None:
    with pytest.raises(ValueError):
        apply(
            RollupState(),
            {"type": "order.created", "tenant_id": "lab", "occurred_at": NOW.replace(tzinfo=None)},
        )
    with pytest.raises(ValueError):
        apply(RollupState(), {"type": "order.created", "occurred_at": NOW})
    with pytest.raises(ValueError):
        bucket_start(NOW, "quarter")


def test_series_is_zero_filled() -> None:
    events = [
        {"type": "order.created", "tenant_id": "lab", "occurred_at": NOW},
        {"type": "order.created", "tenant_id": "lab", "occurred_at": NOW + timedelta(days=2)},
        {"type": "order.created", "tenant_id": "other", "occurred_at": NOW},
    ]
    totals = recompute(events)
    days = series(totals, "lab", "orders_created", "day", date(2026, 11, 24), date(2026, 11, 27))
    assert [int(v) for _, v in days] == [0, 1, 0, 1]
    months = series(totals, "lab", "orders_created", "month", date(2026, 10, 15), date(2027, 1, 1))
    assert months == [
        (date(2026, 10, 1), 0),
        (date(2026, 11, 1), 2),
        (date(2026, 12, 1), 0),
        (date(2027, 1, 1), 0),
    ]
    weeks = series(totals, "lab", "orders_created", "week", date(2026, 11, 25), date(2026, 12, 1))
    assert weeks == [(date(2026, 11, 23), 2), (date(2026, 11, 30), 0)]


EVENT_TYPES = [
    "order.created",
    "order.status_changed",
    "order.status_changed",
    "breakage.recorded",
    "inspection.recorded",
    "remake.created",
]
MOMENTS = st.datetimes(
    min_value=datetime(2025, 12, 20), max_value=datetime(2026, 1, 20), timezones=st.just(UTC)
)


@st.composite
def event_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 40))
    events = []
    for i in range(count):
        occurred = draw(MOMENTS)
        event: dict[str, Any] = {
            "id": f"e{i}",
            "type": draw(st.sampled_from(EVENT_TYPES)),
            "tenant_id": draw(st.sampled_from(["lab", "practice"])),
            "occurred_at": occurred,
            "to": draw(st.sampled_from(["completed", "cancelled", "on_hold", "shipped"])),
            "pass": draw(st.booleans()),
        }
        if draw(st.booleans()):
            lead = draw(st.integers(0, 30 * 24 * 3600))
            event["created_at"] = occurred - timedelta(
                seconds=lead, microseconds=draw(st.integers(0, 999_999))
            )
        events.append(event)
    replays = draw(st.lists(st.integers(0, max(count - 1, 0)), max_size=10)) if count else []
    return events + [dict(events[i]) for i in replays]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(events=event_streams(), order=st.randoms(use_true_random=False))
def test_folding_deltas_in_any_order_equals_recompute(
    events: list[dict[str, Any]], order: Any
) -> None:
    shuffled = list(events)
    order.shuffle(shuffled)
    state = RollupState()
    deltas = [d for e in shuffled for d in apply(state, e)]
    expected = recompute(events)
    assert fold(deltas) == expected
    assert state.totals == expected
    unique = list({e["id"]: e for e in events}.values())
    assert recompute(unique) == expected  # replays add nothing
    for granularity in ("day", "week", "month"):
        shipped = [v for k, v in expected.items() if k[1:3] == ("orders_shipped", granularity)]
        assert sum(shipped) == sum(
            1 for e in unique if e["type"] == "order.status_changed" and e["to"] == "shipped"
        )
