"""The edge of the assistant: order validation of the Rx, and stored orders as job outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ils.domain.lens import Frame, FrameType
from ils.domain.rx import Rx
from ils.services.dispensing import refused_rx
from ils.services.lab_history import job_outcome, max_power

LAB = str(uuid.uuid4())


def rx(od: dict[str, Any], os: dict[str, Any] | None = None) -> Rx:
    return Rx.model_validate({"od": od, "os": os if os is not None else od})


def codes(value: Rx, frame: Frame | None = None) -> set[tuple[str, str]]:
    return {(i.pointer, i.code) for i in refused_rx(value, frame, LAB)}


def test_an_rx_without_pd_or_fitting_height_may_still_be_dispensed() -> None:
    assert codes(rx({"sphere": -2.0, "cylinder": -0.5, "axis": 90, "add": 2.0})) == set()
    assert codes(rx({"sphere": 1.25})) == set()


def test_the_order_validator_refuses_a_bad_rx_with_pointers() -> None:
    assert codes(rx({"sphere": -2.0, "cylinder": -0.5})) == {
        ("/rx/od/axis", "axis-required"),
        ("/rx/os/axis", "axis-required"),
    }
    assert ("/rx/od/sphere", "sphere-step") in codes(rx({"sphere": -2.1}))
    assert codes(rx({"sphere": 1.0, "add": 2.0}, {"sphere": 1.0})) == {
        ("/rx/os/add", "add-required")
    }
    assert ("/rx/od/add", "add-out-of-range") in codes(rx({"sphere": 1.0, "add": 5.0}))


def test_frame_measurements_are_checked_when_given() -> None:
    frame = Frame(type=FrameType.FULL_RIM, a=52.0, b=90.0)
    assert ("/frame/b", "frame-b-out-of-range") in codes(rx({"sphere": 1.0}), frame)


def stored(lens: dict[str, Any], shipped_after: timedelta | None = None) -> dict[str, Any]:
    created = datetime(2026, 5, 1, tzinfo=UTC)
    return {
        "id": "o-1",
        "lens": lens,
        "rx_minus_cyl": {"od": {"sphere": -3.0, "cylinder": -1.5}, "os": {"sphere": 2.0}},
        "created_at": created,
        "shipped_at": created + shipped_after if shipped_after else None,
        "remade": False,
        "returned": True,
        "non_adapt": False,
    }


def test_a_stored_order_becomes_a_job_outcome() -> None:
    lens = {"type": "progressive", "material": "1.60", "coatings": ["ar"], "design": "SKU-9"}
    job = job_outcome(stored(lens, timedelta(days=3, hours=12)), {"o-1"}, {"SKU-9": "digital"})
    assert job.configuration == ("progressive", "1.60", "digital", ("ar",))
    assert job.max_power == 4.5
    assert job.breakage and job.remake and not job.non_adapt
    assert job.lead_time_days == 3.5
    plain = job_outcome(stored({"type": "single_vision", "material": "cr39"}), set(), {})
    assert plain.design == "" and plain.lead_time_days is None and not plain.breakage
    assert max_power({}) == 0.0
