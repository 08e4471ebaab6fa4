"""LIMS job events (API.md "LIMS"): reading them, and what each one does to its order.

``parse_event`` turns one JSON event into a :class:`LimsEvent` or names every bad field with a
JSON pointer. ``apply(state, event)`` is the pure heart of the webhook: given the order's
position (status, station, last applied LIMS ``sequence``) and an event, it returns the new
position and the effects to record.

Decisions:

- ``sequence`` is the LIMS's per-job counter and the authority on order: an event whose sequence
  is not above the last applied one is *late*: its facts (breakage, inspection, the station it
  reports) are still recorded, but it never moves the order.
- Each event names its target position on its own (status from the event type and the station it
  reports), never relative to the order's current status. Together with the rule above this
  makes the final position a function of the highest-sequence event alone, so any permutation of
  a job's events, with duplicates, ends where in-order delivery ends.
- Status by station (DOMAIN.md): production stations mean ``in_production``; ``final_inspection``
  and ``shipping`` (packing after the inspection passed) mean ``quality_check``; ``job.shipped``
  means ``shipped`` and ``job.delivered`` ``completed``. ``job.accepted`` means ``in_production``
  (the LIMS took the job, it sits at order entry). A failed inspection goes back to
  ``in_production``; ``job.on_hold`` holds from the status its station implies.
- Even with a higher sequence, an event is not applied (recorded as late) when the order is
  terminal, or when it would move the order backwards other than the rework of a failed
  inspection (``quality_check -> in_production``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ils.domain.inspection import (
    InspectionVerdict,
    eye_powers_from_dict,
    final_inspection,
    measurement_from_dict,
)
from ils.domain.order_status import (
    TERMINAL,
    OrderState,
    OrderStatus,
    is_backward,
    is_rework,
)
from ils.domain.station import Station
from ils.errors import FieldIssue, ValidationFailed

S = OrderStatus
EVENT_TYPES = frozenset(
    {
        "job.accepted",
        "job.station_changed",
        "job.breakage",
        "job.inspection",
        "job.on_hold",
        "job.released",
        "job.shipped",
        "job.delivered",
        "job.cancelled",
    }
)
STATION_STATUSES = frozenset({"queued", "in_process", "done"})
#: Stations at which an order is in quality check rather than in production.
CHECK_STATIONS = frozenset({Station.FINAL_INSPECTION, Station.SHIPPING})
MAX_TEXT = 200

Outcome = Literal["applied", "late"]
Presence = Literal["queued", "in_process", "done", "left"]


@dataclass(frozen=True)
class LimsEvent:
    id: str
    type: str
    occurred_at: datetime
    job_id: str
    order_id: str
    sequence: int
    station: Station | None
    status: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class JobState:
    """Where an order stands as far as its LIMS job is concerned."""

    order: OrderState
    station: Station | None = None
    sequence: int = 0


@dataclass(frozen=True)
class Movement:
    """A job's presence at a station after an event (``left``: it is no longer there)."""

    station: Station
    job_id: str
    status: Presence
    sequence: int
    occurred_at: datetime


@dataclass(frozen=True)
class Breakage:
    station: Station
    reason_code: str
    shift: str | None
    restart_station: Station


@dataclass(frozen=True)
class InspectionReport:
    measured: dict[str, Any]
    lims_pass: bool


@dataclass(frozen=True)
class Effects:
    outcome: Outcome
    movements: tuple[Movement, ...] = ()
    breakage: Breakage | None = None
    inspection: InspectionReport | None = None
    status_changed: bool = False
    station_changed: bool = False


@dataclass(frozen=True)
class _Target:
    order: OrderState
    station: Station | None
    presence: Presence | None = None


# ----------------------------------------------------------------------------- reading events
def parse_event(raw: Any, pointer: str = "") -> LimsEvent:
    """One event of a webhook body, or ``ValidationFailed`` naming every bad field."""
    issues: list[FieldIssue] = []
    if not isinstance(raw, Mapping):
        raise ValidationFailed([FieldIssue(pointer or "/", "type-object", "an event is an object")])
    for key in set(raw) - {"id", "type", "occurred_at", "data"}:
        issues.append(FieldIssue(f"{pointer}/{key}", "extra-forbidden", "unknown field"))
    event_id = _text(raw, "id", pointer, issues)
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        issues.append(FieldIssue(f"{pointer}/type", "unknown-event-type", f"{kind!r} is unknown"))
    occurred = _moment(raw.get("occurred_at"), f"{pointer}/occurred_at", issues)
    data = raw.get("data")
    if not isinstance(data, Mapping):
        issues.append(FieldIssue(f"{pointer}/data", "type-object", "data must be an object"))
        raise ValidationFailed(issues)
    at = f"{pointer}/data"
    job_id = _text(data, "job_id", at, issues)
    order_id = _uuid(data.get("order_id"), f"{at}/order_id", issues)
    sequence = data.get("sequence")
    if type(sequence) is not int or sequence < 0:
        issues.append(FieldIssue(f"{at}/sequence", "sequence-invalid", "a non-negative integer"))
    station = _station(data.get("station"), f"{at}/station", issues, required=False)
    status = data.get("status")
    if status is not None and not isinstance(status, str):
        issues.append(FieldIssue(f"{at}/status", "type-string", "status must be a string"))
    if kind in EVENT_TYPES:
        issues += _type_issues(str(kind), data, station, at)
    if issues:
        raise ValidationFailed(issues)
    assert occurred is not None and isinstance(sequence, int)
    return LimsEvent(
        event_id, str(kind), occurred, job_id, order_id, sequence, station, status, dict(data)
    )


def _type_issues(
    kind: str, data: Mapping[str, Any], station: Station | None, at: str
) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    if kind == "job.station_changed":
        if station is None:
            issues.append(FieldIssue(f"{at}/station", "station-required", "station is required"))
        if data.get("status") not in STATION_STATUSES:
            detail = "status must be queued, in_process or done"
            issues.append(FieldIssue(f"{at}/status", "station-status-invalid", detail))
    elif kind == "job.breakage":
        if station is None:
            issues.append(FieldIssue(f"{at}/station", "station-required", "station is required"))
        _text(data, "reason_code", at, issues)
        _station(data.get("restart_station"), f"{at}/restart_station", issues, required=True)
        shift = data.get("shift")
        if shift is not None and (not isinstance(shift, str) or len(shift) > MAX_TEXT):
            issues.append(FieldIssue(f"{at}/shift", "type-string", "shift must be a short string"))
    elif kind == "job.inspection":
        if not isinstance(data.get("measured"), Mapping):
            issues.append(FieldIssue(f"{at}/measured", "type-object", "measured is required"))
        if not isinstance(data.get("pass"), bool):
            issues.append(FieldIssue(f"{at}/pass", "type-boolean", "pass must be true or false"))
    return issues


def _text(body: Mapping[str, Any], key: str, at: str, issues: list[FieldIssue]) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        issues.append(FieldIssue(f"{at}/{key}", "string-invalid", f"{key}: 1 to 200 characters"))
        return ""
    return value


def _uuid(value: Any, pointer: str, issues: list[FieldIssue]) -> str:
    try:
        return str(UUID(str(value))) if isinstance(value, str) else _raise()
    except ValueError:
        issues.append(FieldIssue(pointer, "uuid-invalid", "order_id must be a UUID"))
        return ""


def _raise() -> str:
    raise ValueError


def _moment(value: Any, pointer: str, issues: list[FieldIssue]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value)) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        issues.append(FieldIssue(pointer, "datetime-invalid", "an RFC 3339 time with zone"))
        return None
    return moment


def _station(
    value: Any, pointer: str, issues: list[FieldIssue], *, required: bool
) -> Station | None:
    if value is None and not required:
        return None
    try:
        return Station(value)
    except ValueError:
        issues.append(FieldIssue(pointer, "station-unknown", f"{value!r} is not a station"))
        return None


# ----------------------------------------------------------------------------- applying events
def implied_status(station: Station | None) -> OrderStatus:
    """The main-line status a job's station implies."""
    return S.QUALITY_CHECK if station in CHECK_STATIONS else S.IN_PRODUCTION


def target_of(event: LimsEvent) -> _Target:
    """Where the event puts the order, from the event alone."""
    kind, station = event.type, event.station
    if kind == "job.station_changed":
        presence: Presence = event.status  # type: ignore[assignment]  # checked by parse_event
        return _Target(OrderState(implied_status(station)), station, presence)
    if kind == "job.breakage":
        return _Target(
            OrderState(S.IN_PRODUCTION), Station(event.data["restart_station"]), "queued"
        )
    if kind == "job.inspection":
        passed = event.data["pass"] is True
        status = S.QUALITY_CHECK if passed else S.IN_PRODUCTION
        return _Target(OrderState(status), station or Station.FINAL_INSPECTION)
    if kind == "job.on_hold":
        return _Target(OrderState(S.ON_HOLD, held_from=implied_status(station)), station)
    if kind in ("job.accepted", "job.released"):
        return _Target(OrderState(implied_status(station)), station)
    final = {"job.shipped": S.SHIPPED, "job.delivered": S.COMPLETED, "job.cancelled": S.CANCELLED}
    return _Target(OrderState(final[kind]), None)


def may_move(current: OrderState, to: OrderState) -> bool:
    """Never out of a terminal status, never backwards except the rework of a failed inspection."""
    if current.status in TERMINAL:
        return False
    target = to.effective
    return not is_backward(current, target) or is_rework(current, target)


def apply(state: JobState, event: LimsEvent) -> tuple[JobState, Effects]:
    """The order's new job position after ``event`` and what to record (pure)."""
    breakage, inspection = _records(event)
    target = target_of(event)
    if event.sequence <= state.sequence or not may_move(state.order, target.order):
        late = Effects("late", _late_movements(state, event), breakage, inspection)
        return state, late
    new = JobState(target.order, target.station, event.sequence)
    moves: list[Movement] = []
    if state.station is not None and state.station != new.station:
        moves.append(_move(state.station, event, "left", event.sequence))
    if new.station is not None and target.presence is not None:
        moves.append(_move(new.station, event, target.presence, event.sequence))
    effects = Effects(
        "applied",
        tuple(moves),
        breakage,
        inspection,
        status_changed=new.order != state.order,
        station_changed=new.station != state.station,
    )
    return new, effects


def _late_movements(state: JobState, event: LimsEvent) -> tuple[Movement, ...]:
    """A late station event still reports the job's past at that station (service times)."""
    if event.type != "job.station_changed" or event.station is None:
        return ()
    reported: Presence = event.status  # type: ignore[assignment]
    moves = [_move(event.station, event, reported, event.sequence)]
    if event.station != state.station:
        gone = max(state.sequence, event.sequence)
        moves.append(_move(event.station, event, "left", gone))
    return tuple(moves)


def _move(station: Station, event: LimsEvent, status: Presence, sequence: int) -> Movement:
    return Movement(station, event.job_id, status, sequence, event.occurred_at)


def _records(event: LimsEvent) -> tuple[Breakage | None, InspectionReport | None]:
    if event.type == "job.breakage":
        assert event.station is not None
        shift = event.data.get("shift")
        breakage = Breakage(
            event.station,
            str(event.data["reason_code"]),
            str(shift) if shift is not None else None,
            Station(event.data["restart_station"]),
        )
        return breakage, None
    if event.type == "job.inspection":
        return None, InspectionReport(dict(event.data["measured"]), bool(event.data["pass"]))
    return None, None


def judge(rx: Mapping[str, Any], lens_type: str, measured: Mapping[str, Any]) -> InspectionVerdict:
    """ILS's own Z80.1 verdict on a LIMS measurement (``ValidationFailed`` if it cannot judge)."""
    ordered = {
        eye: eye_powers_from_dict(rx[eye], f"/rx/{eye}") for eye in ("od", "os") if rx.get(eye)
    }
    eyes, prism = measurement_from_dict(measured)
    return final_inspection(ordered, eyes, lens_type, prism)
