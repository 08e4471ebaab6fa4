"""Equipment alerts from streamed telemetry: one live alert per subject, ack/resolve, pagination.

Four days of healthy edger readings (generator seed 4, failure modes off) warm the detectors; a
vibration spike of 40 mm/s (baseline about 1.6) is the injected anomaly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from ils.domain.access import TenantKind
from ils.domain.event import Topic
from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from tests.integration.anomaly.conftest import MONDAY
from tests.integration.anomaly.test_telemetry_api import healthy_readings, register, send
from tests.integration.conftest import World, make_party


def spike(at: Any, vibration: float = 40.0) -> dict[str, Any]:
    metrics = {"vibration_mm_s": vibration, "spindle_temp_c": 38.0, "motor_current_a": 8.0}
    return {"equipment_id": "edger-1", "at": at.isoformat(), "metrics": metrics}


async def warmed(client: httpx.AsyncClient, world: World, runtime: Runtime) -> Any:
    await register(client, world, "edger-1")
    readings = healthy_readings("edger-1", "edger", MONDAY, days=4)
    body = (await send(client, world, readings)).json()
    assert body["accepted"] == len(readings) and body["alerts"] == []
    return MONDAY + timedelta(days=4, hours=10)  # Friday 10:00


def alert_events(runtime: Runtime) -> list[tuple[str, str]]:
    publisher = runtime.gateways.publisher
    assert isinstance(publisher, RecordingPublisher)
    return [(e.type, e.data["alert"]["id"]) for e in publisher.events if e.topic is Topic.ALERTS]


async def test_spikes_open_one_live_alert_until_resolved(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    t = await warmed(client, world, runtime)
    first = (await send(client, world, [spike(t), spike(t + timedelta(minutes=10))])).json()
    assert [(a["kind"], a["subject"], a["created"]) for a in first["alerts"]] == [
        ("equipment", "equipment:edger-1", True)
    ]
    alert = first["alerts"][0]
    assert alert["occurrences"] >= 2 and alert["evidence"]["metric"] == "vibration_mm_s"
    second = (await send(client, world, [spike(t + timedelta(minutes=20))])).json()
    assert [(a["id"], a["created"]) for a in second["alerts"]] == [(alert["id"], False)]
    assert alert_events(runtime) == [("alert.raised", alert["id"]), ("alert.updated", alert["id"])]

    listed = await client.get(
        "/api/anomalies/alerts",
        params={"kind": "equipment", "status": "open"},
        headers=world.lab.auth,
    )
    assert [a["id"] for a in listed.json()["items"]] == [alert["id"]]

    acked = await client.post(f"/api/anomalies/alerts/{alert['id']}/ack", headers=world.lab.auth)
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    again = await client.post(f"/api/anomalies/alerts/{alert['id']}/ack", headers=world.lab.auth)
    assert again.status_code == 409
    third = (await send(client, world, [spike(t + timedelta(minutes=30))])).json()
    assert [a["id"] for a in third["alerts"]] == [alert["id"]]
    assert third["alerts"][0]["status"] == "acknowledged"

    done = await client.post(f"/api/anomalies/alerts/{alert['id']}/resolve", headers=world.lab.auth)
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    fourth = (await send(client, world, [spike(t + timedelta(minutes=40))])).json()
    assert fourth["alerts"][0]["created"] and fourth["alerts"][0]["id"] != alert["id"]
    statuses = await client.get("/api/anomalies/alerts", headers=world.lab.auth)
    assert [a["status"] for a in statuses.json()["items"]] == ["open", "resolved"]


async def test_alerts_belong_to_their_lab_and_page_by_cursor(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    t = await warmed(client, world, runtime)
    first = (await send(client, world, [spike(t)])).json()["alerts"][0]
    await client.post(f"/api/anomalies/alerts/{first['id']}/resolve", headers=world.lab.auth)
    second = (await send(client, world, [spike(t + timedelta(minutes=10))])).json()["alerts"][0]

    page = (await client.get("/api/anomalies/alerts?limit=1", headers=world.lab.auth)).json()
    assert [a["id"] for a in page["items"]] == [second["id"]] and page["next_cursor"]
    rest = await client.get(
        "/api/anomalies/alerts",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=world.lab.auth,
    )
    assert [a["id"] for a in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_cursor"] is None
    bad = await client.get("/api/anomalies/alerts?cursor=nonsense", headers=world.lab.auth)
    assert bad.status_code == 422
    later = (t + timedelta(minutes=5)).isoformat()
    since = await client.get(
        "/api/anomalies/alerts", params={"since": later}, headers=world.lab.auth
    )
    assert [a["id"] for a in since.json()["items"]] == [second["id"]]

    other_lab = await make_party(runtime, client, TenantKind.LAB, "Other Lab")
    for path in (f"/api/anomalies/alerts/{second['id']}/ack", "/api/anomalies/alerts"):
        if path.endswith("/ack"):
            response = await client.post(path, headers=other_lab.auth)
            assert response.status_code == 404
        else:
            response = await client.get(path, headers=other_lab.auth)
            assert response.json()["items"] == []
    practice = await client.post(
        f"/api/anomalies/alerts/{second['id']}/ack", headers=world.practice.auth
    )
    assert practice.status_code == 403
    listed = await client.get(
        f"/api/anomalies/alerts?status={second['status']}", headers=world.lab.auth
    )
    assert listed.json()["items"][0]["status"] == "open"
