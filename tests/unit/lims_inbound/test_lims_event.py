"""Applying LIMS events: every type, lateness, and order-independence (property test)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ils.domain.lims_event import Effects, JobState, LimsEvent, apply, judge, parse_event
from ils.domain.order_status import OrderState, OrderStatus
from ils.domain.station import Station
from ils.errors import ValidationFailed
from tests.unit.lims_inbound.streams import ORDER_ID, Stream, job_streams

S = OrderStatus
PENDING = JobState(OrderState(S.PENDING))


def deliver(events: list[LimsEvent], start: JobState = PENDING) -> tuple[JobState, list[Effects]]:
    """What the webhook does: skip ids seen before, apply the rest in arrival order."""
    state, seen, effects = start, set(), []
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        state, effect = apply(state, event)
        effects.append(effect)
    return state, effects


def records(effects: list[Effects]) -> Counter[Any]:
    out: Counter[Any] = Counter()
    for e in effects:
        out[e.breakage] += e.breakage is not None
        if e.inspection is not None:
            out[(e.inspection.lims_pass, str(e.inspection.measured))] += 1
    return out


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data(), events=job_streams())
def test_any_permutation_with_duplicates_ends_like_in_order(
    data: st.DataObject, events: list[LimsEvent]
) -> None:
    in_order, in_order_effects = deliver(events)
    shuffled = data.draw(st.permutations(events))
    extra = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    positions = data.draw(st.lists(st.integers(0, len(shuffled)), min_size=len(extra),
                                   max_size=len(extra)))  # fmt: skip
    arrived = list(shuffled)
    for pos, dup in zip(positions, extra, strict=True):
        arrived.insert(pos, dup)
    final, effects = deliver(arrived)
    assert final == in_order
    assert final.sequence == max(e.sequence for e in events)
    # Facts are kept whatever the order: every breakage and inspection is recorded exactly once.
    assert records(effects) == records(in_order_effects)


def test_in_order_every_event_is_applied() -> None:
    s = Stream()
    s.add("job.accepted")
    s.add("job.station_changed", "surfacing", status="queued")
    s.add("job.shipped")
    _, effects = deliver(s.events)
    assert [e.outcome for e in effects] == ["applied"] * 3


CASES: list[tuple[str, str | None, dict[str, Any], OrderState, Station | None]] = [
    ("job.accepted", None, {}, OrderState(S.IN_PRODUCTION), None),
    ("job.station_changed", "edging", {"status": "queued"}, OrderState(S.IN_PRODUCTION),
     Station.EDGING),
    ("job.station_changed", "final_inspection", {"status": "in_process"},
     OrderState(S.QUALITY_CHECK), Station.FINAL_INSPECTION),
    ("job.station_changed", "shipping", {"status": "done"}, OrderState(S.QUALITY_CHECK),
     Station.SHIPPING),
    ("job.breakage", "edging", {"reason_code": "axis", "restart_station": "surfacing"},
     OrderState(S.IN_PRODUCTION), Station.SURFACING),
    ("job.inspection", "final_inspection", {"measured": {}, "pass": True},
     OrderState(S.QUALITY_CHECK), Station.FINAL_INSPECTION),
    ("job.inspection", "final_inspection", {"measured": {}, "pass": False},
     OrderState(S.IN_PRODUCTION), Station.FINAL_INSPECTION),
    ("job.on_hold", "picking", {}, OrderState(S.ON_HOLD, S.IN_PRODUCTION), Station.PICKING),
    ("job.on_hold", "final_inspection", {}, OrderState(S.ON_HOLD, S.QUALITY_CHECK),
     Station.FINAL_INSPECTION),
    ("job.released", "picking", {}, OrderState(S.IN_PRODUCTION), Station.PICKING),
    ("job.shipped", "shipping", {"carrier": "UPS"}, OrderState(S.SHIPPED), None),
    ("job.delivered", None, {}, OrderState(S.COMPLETED), None),
    ("job.cancelled", "picking", {}, OrderState(S.CANCELLED), None),
]  # fmt: skip


def _event(kind: str, station: str | None, sequence: int, **data: Any) -> LimsEvent:
    raw = {
        "id": f"evt_{kind}_{sequence}",
        "type": kind,
        "occurred_at": "2026-11-25T14:03:11.120Z",
        "data": {"job_id": "J-1", "order_id": ORDER_ID, "sequence": sequence, "station": station,
                 **data},
    }  # fmt: skip
    return parse_event(raw)


@pytest.mark.parametrize(("kind", "station", "data", "status", "at"), CASES)
def test_every_event_type(
    kind: str, station: str | None, data: dict[str, Any], status: OrderState, at: Station | None
) -> None:
    start = JobState(OrderState(S.QUALITY_CHECK), Station.FINAL_INSPECTION, 5)
    if status.effective is S.IN_PRODUCTION and kind != "job.inspection" and kind != "job.breakage":
        start = JobState(OrderState(S.IN_PRODUCTION), Station.MOUNTING, 5)
    new, effects = apply(start, _event(kind, station, 6, **data))
    assert effects.outcome == "applied"
    assert (new.order, new.station, new.sequence) == (status, at, 6)
    assert effects.status_changed == (new.order != start.order)


def test_breakage_and_inspection_records() -> None:
    state = JobState(OrderState(S.IN_PRODUCTION), Station.EDGING, 3)
    broke = _event("job.breakage", "edging", 4, reason_code="axis", shift="night",
                   restart_station="surfacing")  # fmt: skip
    new, effects = apply(state, broke)
    assert new.station is Station.SURFACING
    assert effects.breakage is not None
    assert (effects.breakage.station, effects.breakage.restart_station) == (
        Station.EDGING,
        Station.SURFACING,
    )
    assert (effects.breakage.reason_code, effects.breakage.shift) == ("axis", "night")
    assert [(m.station, m.status) for m in effects.movements] == [
        (Station.EDGING, "left"),
        (Station.SURFACING, "queued"),
    ]


def test_late_events_keep_their_facts_but_never_move() -> None:
    state = JobState(OrderState(S.SHIPPED), None, 30)
    late = _event("job.breakage", "edging", 12, reason_code="axis", restart_station="surfacing")
    new, effects = apply(state, late)
    assert new == state and effects.outcome == "late" and effects.breakage is not None
    # A higher sequence that would move backwards (not a rework) is not applied either.
    back = _event("job.station_changed", "edging", 31, status="queued")
    assert apply(state, back)[1].outcome == "late"
    # Nothing leaves a terminal status.
    done = JobState(OrderState(S.COMPLETED), None, 40)
    assert apply(done, _event("job.shipped", None, 41))[1].outcome == "late"
    # The rework of a failed inspection is the one backward move.
    checking = JobState(OrderState(S.ON_HOLD, S.QUALITY_CHECK), Station.FINAL_INSPECTION, 20)
    failed = _event("job.inspection", "final_inspection", 21, measured={}, **{"pass": False})
    assert apply(checking, failed)[0].order == OrderState(S.IN_PRODUCTION)


def test_late_station_event_reports_the_past_at_that_station() -> None:
    state = JobState(OrderState(S.IN_PRODUCTION), Station.EDGING, 9)
    _, effects = apply(state, _event("job.station_changed", "surfacing", 5, status="done"))
    assert [(m.station, m.status, m.sequence) for m in effects.movements] == [
        (Station.SURFACING, "done", 5),
        (Station.SURFACING, "left", 9),
    ]


def test_parse_names_every_bad_field() -> None:
    raw = {
        "id": "",
        "type": "job.breakage",
        "occurred_at": "yesterday",
        "extra": 1,
        "data": {"job_id": "J", "order_id": "x", "sequence": True, "station": "moon"},
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_event(raw, "/events/3")
    pointers = {i.pointer for i in caught.value.issues}
    assert pointers == {
        "/events/3/id",
        "/events/3/extra",
        "/events/3/occurred_at",
        "/events/3/data/order_id",
        "/events/3/data/sequence",
        "/events/3/data/station",
        "/events/3/data/reason_code",
        "/events/3/data/restart_station",
    }
    with pytest.raises(ValidationFailed) as unknown:
        parse_event({"id": "e", "type": "job.x", "occurred_at": "2026-01-01T00:00:00Z",
                     "data": {"job_id": "J", "order_id": ORDER_ID, "sequence": 1}})  # fmt: skip
    assert [i.code for i in unknown.value.issues] == ["unknown-event-type"]


def test_ils_judges_the_lims_measurement() -> None:
    rx = {"od": {"sphere": -2.0, "cylinder": -1.0, "axis": 90}, "os": {"sphere": -2.0}}
    good = {"od": {"sphere": -2.0, "cylinder": -1.0, "axis": 91}, "os": {"sphere": -2.05}}
    bad = {"od": {"sphere": -2.5, "cylinder": -1.0, "axis": 90}, "os": {"sphere": -2.0}}
    assert judge(rx, "single_vision", good).passed
    verdict = judge(rx, "single_vision", bad)
    assert not verdict.passed and [f.pointer for f in verdict.failures()] == ["/od/sphere"]
