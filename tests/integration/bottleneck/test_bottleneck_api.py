"""Bottleneck routes on a lab fed through the stations service: the constraint, its events,
recommendations, utilisation, what-ifs and their bad input, and the rebuild after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ils.domain.event import Topic
from ils.runtime import Runtime
from ils.services.bottleneck_model import load_lab
from ils.services.ports import RecordingPublisher
from ils.services.stations import InProcessStations
from tests.integration.bottleneck.conftest import Fed, configure
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order


def published(runtime: Runtime, kind: str) -> list[Any]:
    publisher = runtime.publisher
    assert isinstance(publisher, RecordingPublisher)
    return [e for e in publisher.events if e.type == kind]


async def test_the_short_staffed_station_is_the_constraint(
    client: httpx.AsyncClient, runtime: Runtime, world: World, fed: Fed
) -> None:
    response = await client.get("/api/bottlenecks", headers=world.lab.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    (found,) = body["items"]
    assert found["station"] == "surfacing"
    assert 0.5 < found["confidence"] <= 1.0
    since = datetime.fromisoformat(found["since"])
    assert fed.start < since <= fed.end
    assert found["evidence"]["method"] in {"backlog_load", "active_period"}
    assert max(found["evidence"]["utilization"].items(), key=lambda kv: kv[1])[0] == "surfacing"
    assert body["prediction"]["station"] == "surfacing"
    # The change is an event in the lab's log, on the stations topic, published after commit.
    # (While only picking had seen jobs it led; each change names the one before it.)
    changed = published(runtime, "bottleneck.changed")
    assert changed[-1].data["station"] == "surfacing"
    chain = [None] + [e.data["station"] for e in changed]
    assert [e.data["previous"] for e in changed] == chain[:-1]
    assert {(e.tenant_id, e.topic) for e in changed} == {(world.lab.tenant_id, Topic.STATIONS)}
    async with runtime.db.connection() as conn:
        logged = await conn.fetch(
            "SELECT seq FROM events WHERE tenant_id = $1 AND type = 'bottleneck.changed'",
            world.lab.tenant_id,
        )
    assert [r["seq"] for r in logged] == [e.seq for e in changed]
    # Another tenant sees none of it.
    assert (await client.get("/api/bottlenecks", headers=world.practice.auth)).status_code == 403
    assert (await client.get("/api/bottlenecks")).status_code == 401


async def test_recommendation_moves_cross_trained_staff_to_the_constraint(
    client: httpx.AsyncClient, runtime: Runtime, world: World, fed: Fed
) -> None:
    # The change of constraint started a recommendation in the background: it is an event.
    assert published(runtime, "bottleneck.recommendation")
    response = await client.get("/api/bottlenecks/recommendations", headers=world.lab.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    # The newest recommendation (on the line as it is now) is the last event.
    event = published(runtime, "bottleneck.recommendation")[-1]
    assert body["moves"] == event.data["moves"]
    assert body["moves"], body
    assert {m["to_station"] for m in body["moves"]} == {"surfacing"}
    assert {m["from_station"] for m in body["moves"]} <= {"picking", "edging"}
    assert body["expected_cycle_time_change_pct"] < 0
    low, high = body["cycle_time_change_ci95"]
    assert low <= body["expected_cycle_time_change_pct"] <= high
    assert 0 < body["expected_utilization"]["surfacing"] < 1
    assert "twin" in body["method"]
    assert body["constraint"] == "surfacing"
    # Asking again computes nothing new and emits nothing new.
    again = await client.get("/api/bottlenecks/recommendations", headers=world.lab.auth)
    assert again.json() == body
    assert published(runtime, "bottleneck.recommendation")[-1] is event


async def test_utilization_over_time(
    client: httpx.AsyncClient, runtime: Runtime, world: World, fed: Fed
) -> None:
    response = await client.get("/api/lab/utilization?range=last1h", headers=world.lab.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket_min"] == 5.0
    buckets = body["buckets"]
    assert len(buckets) >= 10
    late = buckets[-2]
    assert late["stations"]["surfacing"] == pytest.approx(1.0)  # both servers always busy
    assert 0 < late["stations"]["picking"] < 1
    assert late["lab"] is not None and 0 < late["lab"] < 1
    assert body["mean"]["stations"]["surfacing"] > body["mean"]["stations"]["edging"]
    async with runtime.db.connection() as conn:
        samples = await conn.fetchval(
            "SELECT count(DISTINCT at) FROM station_samples WHERE lab_id = $1 AND at >= $2",
            world.lab.tenant_id,
            datetime.fromisoformat(body["from"]),
        )
    assert samples == sum(b["samples"] for b in buckets) // 10  # ten stations per sample
    bad = await client.get("/api/lab/utilization?range=forever", headers=world.lab.auth)
    assert bad.status_code == 422
    assert [e["pointer"] for e in bad.json()["errors"]] == ["/query/range"]
    assert (
        await client.get("/api/lab/utilization", headers=world.practice.auth)
    ).status_code == 403


async def live_state(client: httpx.AsyncClient, runtime: Runtime, world: World) -> Any:
    stations = await client.get("/api/lab/stations", headers=world.lab.auth)
    async with runtime.db.connection() as conn:
        resources = await conn.fetch("SELECT * FROM station_resources ORDER BY station")
        events = await conn.fetchval("SELECT count(*) FROM events")
        samples = await conn.fetchval("SELECT count(*) FROM station_samples")
    return stations.json(), [dict(r) for r in resources], events, samples


async def test_what_if_on_the_twin(
    client: httpx.AsyncClient, runtime: Runtime, world: World, fed: Fed
) -> None:
    before = await live_state(client, runtime, world)
    body = {"staff": {"surfacing": 4, "picking": 2}, "horizon_min": 240, "replications": 4}
    response = await client.post("/api/workflow/optimize", json=body, headers=world.lab.auth)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["expected_cycle_time_change_pct"] < -20
    assert result["cycle_time_min"] < result["base_cycle_time_min"]
    assert result["replications"] == 4
    assert result["initial_state"]["stations"]["surfacing"]["staff"] == 2
    assert result["initial_state"]["arrival_rate_per_min"] == pytest.approx(0.5, rel=0.2)
    same = await client.post("/api/workflow/optimize", json=body, headers=world.lab.auth)
    assert same.json() == result  # seeded: the same what-if gives the same answer
    assert await live_state(client, runtime, world) == before


BAD_WHAT_IFS: list[tuple[dict[str, Any], set[str]]] = [
    ({"staff": {"surfacing": -1}}, {"/staff/surfacing"}),
    ({"staff": {"moon": 1}}, {"/staff/moon"}),
    ({"machines": {"edging": -2}}, {"/machines/edging"}),
    ({"staff": {"surfacing": 40}}, {"/staff"}),
    ({"replications": 50, "horizon_min": 10080}, {"/replications"}),
    ({"replications": 1000}, {"/replications"}),
    ({"horizon_min": -5}, {"/horizon_min"}),
    ({"service_factor": {"edging": 0}}, {"/service_factor/edging"}),
    ({"staff": {"surfacing": 3}, "wishes": True}, {"/wishes"}),
    ({"staff": {"surfacing": "many"}}, {"/staff/surfacing"}),
    ({"arrival_rate_per_min": "inf"}, {"/arrival_rate_per_min"}),
]


async def test_bad_what_ifs_are_refused_and_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World, fed: Fed
) -> None:
    before = await live_state(client, runtime, world)
    for body, pointers in BAD_WHAT_IFS:
        response = await client.post("/api/workflow/optimize", json=body, headers=world.lab.auth)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {e["pointer"] for e in response.json()["errors"]} == pointers, body
    assert await live_state(client, runtime, world) == before


async def test_what_if_needs_a_lab_admin_and_a_live_line(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {"staff": {"surfacing": 3}}
    denied = await client.post("/api/workflow/optimize", json=body, headers=world.practice.auth)
    assert denied.status_code == 403
    empty = await client.post("/api/workflow/optimize", json=body, headers=world.lab.auth)
    assert empty.status_code == 409  # nothing measured yet: no state to start the twin from
    quiet = (await client.get("/api/bottlenecks", headers=world.lab.auth)).json()
    assert quiet["items"] == [] and quiet["reason"] == "no samples yet"
    none = await client.get("/api/bottlenecks/recommendations", headers=world.lab.auth)
    assert none.status_code == 200 and none.json()["moves"] == []


async def test_a_restarted_detector_is_rebuilt_from_the_database(
    runtime: Runtime, world: World, fed: Fed
) -> None:
    live = await runtime.bottlenecks.port.live(world.lab.tenant_id)
    rebuilt = await load_lab(runtime.db, world.lab.tenant_id, InProcessStations(runtime.db))
    assert live.detection is not None and rebuilt.model.last is not None
    assert rebuilt.model.last.station == live.detection.station == "surfacing"
    assert rebuilt.model.last.since == pytest.approx(live.detection.since)
    assert rebuilt.latest == live.as_of
    assert rebuilt.arrival_rates() == pytest.approx(live.arrival_rates)


async def test_webhook_movements_reach_the_detector(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    """The seam: signed LIMS webhooks -> stations -> a stored sample of every station."""
    assert world.lab.webhook_secret
    lims = Lims(client, world, world.lab.webhook_secret)
    await configure(client, world)
    now = datetime.now(UTC).replace(microsecond=0)
    for minute in range(2):
        order = await place_order(client, world)
        queued = lims.event(order["id"], "job.station_changed", station="picking", status="queued")
        queued["occurred_at"] = (now + timedelta(minutes=minute)).isoformat()
        response = await lims.post({"events": [queued]})
        assert response.status_code == 200, response.text
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT at, station, queue, arrived FROM station_samples WHERE lab_id = $1"
            " AND station = 'picking' ORDER BY at",
            world.lab.tenant_id,
        )
    assert [(r["queue"], r["arrived"]) for r in rows] == [(1, 1), (2, 2)]
    assert rows[1]["at"] - rows[0]["at"] == timedelta(minutes=1)
