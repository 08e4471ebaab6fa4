from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from ils.domain.lims_event import EVENT_TYPES, STATION_STATUSES
from ils.domain.station import LINE, Station, route
from ils.sim.job import JobRejected
from ils.sim.model import LabModel
from ils.sim.order_mix import synthetic_order
from tests.unit.sim.conftest import calm_config, run_lab

SV_STOCK = {"sphere": -1.25, "cylinder": -0.5, "axis": 90}


def order(lens_type: str, coatings: list[str], eye: dict[str, Any], oid: str = "o-1") -> dict:
    extra = {"add": 2.0, "seg_height": 18.0} if lens_type != "single_vision" else {}
    return {
        "id": oid,
        "lens": {"type": lens_type, "material": "1.60", "coatings": coatings},
        "rx": {"od": {**eye, **extra}, "os": {**eye, **extra}},
        "frame": {"type": "full_rim"},
    }


def by_job(events: list[dict]) -> dict[str, list[dict]]:
    jobs: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        jobs[e["data"]["job_id"]].append(e)
    return jobs


def visited(events: list[dict]) -> list[str]:
    return [
        e["data"]["station"]
        for e in events
        if e["type"] == "job.station_changed" and e["data"]["status"] == "in_process"
    ]


def test_same_seed_same_events_and_other_seed_differs() -> None:
    a = run_lab(calm_config(), seed=3, jobs=60, days=4).emitted
    b = run_lab(calm_config(), seed=3, jobs=60, days=4).emitted
    c = run_lab(calm_config(), seed=4, jobs=60, days=4).emitted
    assert a == b
    assert [e["id"] for e in a] != [e["id"] for e in c]


@pytest.mark.parametrize(
    ("lens_type", "coatings", "eye", "stock"),
    [
        ("single_vision", ["hard"], SV_STOCK, True),
        ("single_vision", ["ar"], {"sphere": -8.0, "cylinder": 0.0}, False),
        ("progressive", ["ar", "tint"], {"sphere": 1.0, "cylinder": -1.0, "axis": 10}, False),
        ("bifocal", ["uv"], {"sphere": 0.5, "cylinder": 0.0}, False),
    ],
)
def test_route_follows_lens_type_and_coatings(
    lens_type: str, coatings: list[str], eye: dict, stock: bool
) -> None:
    model = LabModel(calm_config(), np.random.default_rng(0))
    model.submit(order(lens_type, coatings, eye))
    model.run_until(5 * 1440)
    expected = [s.value for s in route(lens_type, frozenset(coatings), stock=stock)]
    assert visited(model.emitted) == expected
    assert (Station.AR_COAT.value in expected) == ("ar" in coatings)
    assert (Station.SURFACING.value in expected) == (not stock)


def test_every_job_has_strictly_increasing_sequence_and_valid_events(busy_lab: LabModel) -> None:
    jobs = by_job(busy_lab.emitted)
    assert len(jobs) == 400
    for events in jobs.values():
        sequences = [e["data"]["sequence"] for e in events]
        assert sequences == list(range(1, len(events) + 1))
        assert events[0]["type"] == "job.accepted"
        assert events[-1]["type"] in {"job.delivered", "job.cancelled"}
        times = [e["occurred_at"] for e in events]
        assert times == sorted(times)
        for e in events:
            assert e["type"] in EVENT_TYPES
            assert e["id"].startswith("evt_")
            assert {"job_id", "order_id", "station", "status", "sequence"} <= e["data"].keys()
            if e["type"] == "job.station_changed":
                assert e["data"]["status"] in STATION_STATUSES
    ids = [e["id"] for e in busy_lab.emitted]
    assert len(ids) == len(set(ids))


def test_breakage_restarts_at_an_earlier_station(busy_lab: LabModel) -> None:
    breakages = 0
    for events in by_job(busy_lab.emitted).values():
        for i, e in enumerate(events):
            if e["type"] != "job.breakage":
                continue
            breakages += 1
            here = LINE.index(Station(e["data"]["station"]))
            restart = Station(e["data"]["restart_station"])
            assert LINE.index(restart) < here
            assert e["data"]["reason_code"]
            assert e["data"]["shift"] in {"day", "swing", "night"}
            nxt = events[i + 1]
            assert nxt["type"] == "job.station_changed"
            assert (nxt["data"]["station"], nxt["data"]["status"]) == (restart.value, "queued")
    assert breakages > 0


def test_finishing_breaks_more_than_surfacing_per_visit() -> None:
    config = calm_config()
    stations = dict(config.stations)
    for s in (Station.SURFACING, Station.EDGING):
        stations[s] = replace(stations[s], breakage=0.1)
    model = run_lab(replace(config, stations=stations), seed=11, jobs=600, days=8)
    rate = {}
    for s in (Station.SURFACING, Station.EDGING):
        visits = len(model.traces[s].ends)
        broke = sum(
            e["type"] == "job.breakage" and e["data"]["station"] == s.value for e in model.emitted
        )
        rate[s] = broke / visits
    assert rate[Station.EDGING] > rate[Station.SURFACING]


def test_exact_inspection_passes_with_ordered_powers() -> None:
    model = LabModel(calm_config(), np.random.default_rng(0))
    eye = {"sphere": -2.25, "cylinder": -0.75, "axis": 180}
    model.submit(order("progressive", ["ar"], eye))
    model.run_until(5 * 1440)
    (inspection,) = [e for e in model.emitted if e["type"] == "job.inspection"]
    data = inspection["data"]
    assert data["pass"] is True
    assert data["measured"]["od"] == {
        "sphere": -2.25,
        "cylinder": -0.75,
        "axis": 180,
        "add": 2.0,
        "seg_height": 18.0,
    }
    assert set(data["measured"]["prism_imbalance"]) == {"vertical", "horizontal"}


def test_out_of_tolerance_inspection_fails_and_restarts() -> None:
    model = LabModel(calm_config(inspection_noise=5.0), np.random.default_rng(0))
    model.submit(order("single_vision", [], {"sphere": -3.0, "cylinder": 0.0}))
    model.run_until(1440)
    events = model.emitted
    first = next(i for i, e in enumerate(events) if e["type"] == "job.inspection")
    assert events[first]["data"]["pass"] is False
    assert events[first + 1]["type"] == "job.breakage"
    assert events[first + 1]["data"]["reason_code"] == "inspection_power_miss"


def test_default_noise_fails_a_minority_of_inspections(busy_lab: LabModel) -> None:
    results = [e["data"]["pass"] for e in busy_lab.emitted if e["type"] == "job.inspection"]
    failed = results.count(False) / len(results)
    assert 0.0 < failed < 0.2


def test_ar_coat_runs_in_batches() -> None:
    model = run_lab(calm_config(), seed=5, jobs=300, days=5)
    starts = np.array(model.traces[Station.AR_COAT].starts)
    assert len(np.unique(starts)) < len(starts) / 3


def test_rejects_unknown_lens_type() -> None:
    model = LabModel(calm_config(), np.random.default_rng(0))
    with pytest.raises(JobRejected):
        model.submit(order("monocle", [], SV_STOCK))


def test_fewer_surfacing_staff_lengthen_its_queue() -> None:
    def mean_queue(staff: int) -> float:
        model = LabModel(calm_config(), np.random.default_rng(1))
        model.set_staff(Station.SURFACING, staff)
        orders = np.random.default_rng(2)
        for k in range(300):
            model.run_until(k * 4.0)
            model.submit(synthetic_order(orders))
        model.run_until(3 * 1440)
        return model.traces[Station.SURFACING].mean_queue(model.now)

    assert mean_queue(3) > 2 * mean_queue(12)


def test_staff_follow_shifts_and_changes_while_running() -> None:
    model = LabModel(calm_config(), np.random.default_rng(0))  # starts 06:00, day shift
    assert model.station_state()["surfacing"]["staff"] == 9
    model.run_until(17 * 60)  # 23:00, night shift at 30%
    assert model.station_state()["surfacing"]["staff"] == 3
    model.set_staff(Station.SURFACING, 20)
    assert model.station_state()["surfacing"]["staff"] == 6
    model.run_until(25 * 60)  # 07:00 next day
    assert model.station_state()["surfacing"]["staff"] == 20
