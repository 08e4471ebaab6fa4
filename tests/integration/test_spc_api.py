"""Control points over HTTP: limits from a baseline, measurements, Nelson rules -> alerts."""

from __future__ import annotations

import httpx
import pytest

from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from tests.integration.conftest import World

# Mean 10.0; moving ranges 0.2 0.4 0.3 0.2 0.1 0.3 0.6 -> MR-bar 0.3; sigma 0.3 / 1.128.
BASELINE = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.3, 9.7]
SIGMA = 0.3 / 1.128


async def _point(client: httpx.AsyncClient, world: World, **changes: object) -> dict[str, object]:
    body = {"name": "centre thickness", "unit": "mm", "lsl": 9.0, "usl": 11.0, "chart": "imr"}
    response = await client.post(
        "/api/qc/control-points", json={**body, **changes}, headers=world.lab.auth
    )
    assert response.status_code == 201, response.text
    point: dict[str, object] = response.json()
    return point


async def test_limits_from_a_baseline_and_an_alert_per_rule_violation(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    point = await _point(client, world, baseline=BASELINE)
    limits = point["limits"]
    assert isinstance(limits, dict)
    assert limits["centre"] == pytest.approx(10.0)
    assert limits["sigma"] == pytest.approx(SIGMA)
    assert limits["ucl"] == pytest.approx(10.0 + 3 * SIGMA)
    url = f"/api/qc/control-points/{point['id']}/measurements"
    calm = await client.post(url, json={"values": [10.1, 9.9]}, headers=world.lab.auth)
    assert calm.status_code == 201 and calm.json()["alerts"] == []
    wild = await client.post(
        url, json={"values": [10.0, 10.9], "unit": "mm"}, headers=world.lab.auth
    )
    assert wild.status_code == 201, wild.text
    [alert] = wild.json()["alerts"]
    assert alert["kind"] == "process" and alert["severity"] == "high"
    assert alert["evidence"]["rule"] == 1
    assert alert["evidence"]["measurement_id"] == wild.json()["measurements"][1]["id"]
    publisher = runtime.publisher
    assert isinstance(publisher, RecordingPublisher)
    raised = [e for e in publisher.events if e.type == "alert.raised"]
    assert len(raised) == 1 and raised[0].tenant_id == world.lab.tenant_id
    async with runtime.db.connection() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE tenant_id = $1 AND kind = 'process'",
            world.lab.tenant_id,
        )
    assert stored == 1
    got = await client.get(f"/api/qc/control-points/{point['id']}", headers=world.lab.auth)
    assert [m["value"] for m in got.json()["measurements"]] == [10.1, 9.9, 10.0, 10.9]


async def test_xbar_r_points_are_subgroup_means(client: httpx.AsyncClient, world: World) -> None:
    baseline = [[10.0, 10.2, 9.8], [10.1, 9.9, 10.0], [10.3, 9.7, 10.0]]
    point = await _point(client, world, chart="xbar_r", subgroup_size=3, baseline=baseline)
    limits = point["limits"]
    assert isinstance(limits, dict)
    # R-bar = (0.4 + 0.2 + 0.6) / 3 = 0.4; A2(3) = 1.023.
    assert limits["ucl"] == pytest.approx(10.0 + 1.023 * 0.4)
    url = f"/api/qc/control-points/{point['id']}/measurements"
    response = await client.post(url, json={"values": [[10.0, 10.1, 10.2]]}, headers=world.lab.auth)
    assert response.status_code == 201, response.text
    [m] = response.json()["measurements"]
    assert m["value"] == pytest.approx(10.1) and m["range"] == pytest.approx(0.2)


async def test_bad_measurements_and_points_are_refused_and_store_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    auth = world.lab.auth
    point = await _point(client, world, baseline=BASELINE)
    url = f"/api/qc/control-points/{point['id']}/measurements"
    cases = [
        {"values": [10.0], "unit": "in"},
        {"values": [[10.0, 10.1]]},
        {"values": []},
        {"values": ["ten"]},
    ]
    for body in cases:
        response = await client.post(url, json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
    got = await client.get(f"/api/qc/control-points/{point['id']}", headers=auth)
    assert got.json()["measurements"] == []
    unknown = "/api/qc/control-points/00000000-0000-4000-8000-000000000000/measurements"
    assert (await client.post(unknown, json={"values": [1.0]}, headers=auth)).status_code == 404
    flat = {"name": "flat", "unit": "mm", "baseline": [1.0, 1.0, 1.0]}
    assert (await client.post("/api/qc/control-points", json=flat, headers=auth)).status_code == 422
    upside = {"name": "upside", "unit": "mm", "lsl": 2.0, "usl": 1.0}
    response = await client.post("/api/qc/control-points", json=upside, headers=auth)
    assert response.status_code == 422
    again = await client.post(
        "/api/qc/control-points", json={"name": "centre thickness", "unit": "mm"}, headers=auth
    )
    assert again.status_code == 409
    hidden = await client.post(url, json={"values": [10.0]}, headers=world.practice.auth)
    assert hidden.status_code in (403, 404)
