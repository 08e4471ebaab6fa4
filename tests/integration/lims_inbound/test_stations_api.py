"""GET/PUT /api/lab/stations: the live pipeline from webhook movements, resources from the lab."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ils import cli
from ils.domain.event import Topic
from ils.domain.station import Station
from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from ils.services.stations import InProcessStations, load_station
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order


async def test_stations_follow_the_jobs(
    client: httpx.AsyncClient, runtime: Runtime, world: World, lims: Lims
) -> None:
    put = await client.put(
        "/api/lab/stations/surfacing",
        json={"staff": 3, "machines": 2, "cross_trained": ["edging"]},
        headers=world.lab.auth,
    )
    assert put.status_code == 200, put.text
    assert put.json()["items"] == [
        {"station": "surfacing", "staff": 3, "machines": 2, "cross_trained": ["edging"]}
    ]
    orders = [str((await place_order(client, world))["id"]) for _ in range(3)]
    batch = []
    for i, oid in enumerate(orders):
        batch.append(lims.event(oid, "job.station_changed", station="surfacing", status="queued"))
        if i < 2:
            batch.append(lims.event(oid, "job.station_changed", station="surfacing",
                                    status="in_process"))  # fmt: skip
    batch[-1]["occurred_at"] = "2026-11-25T14:10:00Z"
    done = lims.event(orders[0], "job.station_changed", station="surfacing", status="done")
    done["occurred_at"] = "2026-11-25T14:15:11.120Z"
    moved = lims.event(orders[0], "job.station_changed", station="edging", status="queued")
    response = await lims.post({"events": [*batch, done, moved]})
    assert {r["result"] for r in response.json()["results"]} == {"applied"}
    # Snapshots went out on the stations topic (throttled: one per station for this burst).
    publisher = runtime.publisher
    assert isinstance(publisher, RecordingPublisher)
    snapshots = [e for e in publisher.events if e.type == "station.snapshot"]
    assert sorted(e.data["station"]["station"] for e in snapshots) == ["edging", "surfacing"]
    assert {(e.tenant_id, e.topic) for e in snapshots} == {(world.lab.tenant_id, Topic.STATIONS)}
    listed = await client.get("/api/lab/stations", headers=world.lab.auth)
    assert listed.status_code == 200
    by_station = {s["station"]: s for s in listed.json()["items"]}
    assert list(by_station) == [str(s) for s in Station]
    surfacing = by_station["surfacing"]
    assert (surfacing["queue"], surfacing["in_process"]) == (1, 1)
    assert (surfacing["staff"], surfacing["machines"]) == (3, 2)
    assert surfacing["mean_service_min"] == pytest.approx(12.0)
    assert surfacing["throughput_per_hour"] == 1.0
    assert surfacing["utilization"] == pytest.approx(1.0 * 12.0 / 60.0 / 2)
    assert by_station["edging"]["queue"] == 1
    # The live state equals the state rebuilt from the database.
    rebuilt = await load_station(runtime.db, world.lab.tenant_id, Station.SURFACING)
    assert rebuilt.snapshot() == surfacing
    fresh = InProcessStations(runtime.db)
    assert await fresh.read(world.lab.tenant_id) == listed.json()["items"]


async def test_station_access_and_bad_input(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    body = {"staff": 2, "machines": 1, "cross_trained": []}
    practice = await client.put("/api/lab/stations/edging", json=body, headers=world.practice.auth)
    assert practice.status_code == 403
    assert (await client.get("/api/lab/stations", headers=world.practice.auth)).status_code == 403
    assert (await client.get("/api/lab/stations")).status_code == 401
    unknown = await client.put("/api/lab/stations/moon", json=body, headers=world.lab.auth)
    assert unknown.status_code == 422
    bad = await client.put(
        "/api/lab/stations/edging",
        json={"staff": -1, "machines": 1, "extra": True, "cross_trained": ["moon"]},
        headers=world.lab.auth,
    )
    assert bad.status_code == 422
    pointers = {e["pointer"] for e in bad.json()["errors"]}
    assert pointers == {"/staff", "/extra", "/cross_trained/0"}
    async with runtime.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM station_resources") == 0


def test_cli_rotates_the_webhook_secret(
    world: World,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ILS_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("ILS_REDIS_URL", runtime.settings.redis_url)
    monkeypatch.setenv("ILS_DATA_DIR", str(tmp_path))
    assert cli.main(["tenant", "rotate-webhook-secret", "--tenant", world.lab.tenant_id]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["tenant_id"] == world.lab.tenant_id
    assert (
        len(printed["webhook_secret"]) == 64
        and printed["webhook_secret"] != world.lab.webhook_secret
    )
    assert cli.main(["tenant", "rotate-webhook-secret", "--tenant", "not-a-lab"]) == 2
