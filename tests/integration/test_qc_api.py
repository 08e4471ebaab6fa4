"""Quality over HTTP: final inspections, QA failures and the RCA workflow."""

from __future__ import annotations

from typing import Any

import httpx

from ils.runtime import Runtime
from ils.services.ports import RecordingPublisher
from tests.integration.conftest import World, order_body

# The order of API.md: OD -2.25 -0.75 x180 add 2.00 seg 18; OS -2.00 -0.50 x175 add 2.00 seg 18.
GOOD = {
    "od": {"sphere": -2.25, "cylinder": -0.75, "axis": 180, "add": 2.0, "seg_height": 18.0},
    "os": {"sphere": -2.0, "cylinder": -0.5, "axis": 175, "add": 2.0, "seg_height": 18.0},
    "prism_imbalance": {"vertical": 0.1, "horizontal": 0.2},
}


async def order_at(client: httpx.AsyncClient, world: World, *statuses: str) -> dict[str, Any]:
    created = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    for status in statuses:
        moved = await client.post(
            f"/api/orders/{order['id']}/transitions", json={"to": status}, headers=world.lab.auth
        )
        assert moved.status_code == 200, moved.text
        order = moved.json()
    return order


def measured(**eye_changes: Any) -> dict[str, Any]:
    od = {**GOOD["od"], **eye_changes}
    return {**GOOD, "od": od}


async def test_a_passing_inspection_is_judged_and_leaves_the_order_where_it_is(
    client: httpx.AsyncClient, world: World
) -> None:
    order = await order_at(client, world, "in_production", "quality_check")
    # Progressive: sphere tolerance 0.16 D, so -2.25 + 0.16 passes exactly at the band edge.
    body = {"order_id": order["id"], "measured": measured(sphere=-2.09)}
    response = await client.post("/api/qc/inspections", json=body, headers=world.lab.auth)
    assert response.status_code == 201, response.text
    verdict = response.json()
    assert verdict["pass"] is True
    assert verdict["order_status"] == "quality_check"
    fields = {f["pointer"]: f for f in verdict["fields"]}
    assert fields["/od/sphere"]["tolerance"] == 0.16
    assert fields["/od/axis"]["tolerance"] == 5.0  # 0.75 D cylinder: +/-5 degrees
    got = await client.get(f"/api/orders/{order['id']}", headers=world.lab.auth)
    assert got.json()["status"] == "quality_check"


async def test_a_failed_inspection_records_a_failure_and_sends_the_order_back(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    order = await order_at(client, world, "in_production", "quality_check")
    body = {"order_id": order["id"], "measured": measured(axis=174)}  # 6 degrees off, tol 5
    response = await client.post("/api/qc/inspections", json=body, headers=world.lab.auth)
    assert response.status_code == 201, response.text
    verdict = response.json()
    assert verdict["pass"] is False
    assert verdict["order_status"] == "in_production"
    failed = [f["pointer"] for f in verdict["fields"] if not f["pass"]]
    assert failed == ["/od/axis"]
    for party in (world.lab, world.practice):
        timeline = await client.get(f"/api/orders/{order['id']}/timeline", headers=party.auth)
        types = [e["type"] for e in timeline.json()["items"]]
        assert types[-3:] == ["inspection.recorded", "qa.failure_recorded", "order.status_changed"]
    failures = await client.get("/api/qc/failures", headers=world.lab.auth)
    [failure] = failures.json()["items"]
    assert failure["id"] == verdict["qa_failure_id"]
    assert failure["order_id"] == order["id"] and failure["station"] == "final_inspection"
    published = runtime.publisher
    assert isinstance(published, RecordingPublisher)
    assert published.events[-1].type == "order.status_changed"


async def test_bad_inspections_change_nothing(client: httpx.AsyncClient, world: World) -> None:
    order = await order_at(client, world, "in_production", "quality_check")
    cases = [
        ({"order_id": order["id"], "measured": measured(sphere=-225)}, 422, "/measured/od/sphere"),
        ({"order_id": order["id"], "measured": {"od": GOOD["od"]}}, 422, "/measured/os"),
        ({"order_id": order["id"], "measured": measured(colour="red")}, 422, None),
    ]
    for body, status, pointer in cases:
        response = await client.post("/api/qc/inspections", json=body, headers=world.lab.auth)
        assert response.status_code == status, response.text
        pointers = [e["pointer"] for e in response.json().get("errors", [])]
        if pointer is not None:
            assert pointer in pointers
    hidden = await client.post(
        "/api/qc/inspections",
        json={"order_id": order["id"], "measured": GOOD},
        headers=world.practice.auth,
    )
    assert hidden.status_code in (403, 404)
    timeline = await client.get(f"/api/orders/{order['id']}/timeline", headers=world.lab.auth)
    assert "inspection.recorded" not in [e["type"] for e in timeline.json()["items"]]
    pending = await order_at(client, world)
    early = await client.post(
        "/api/qc/inspections",
        json={"order_id": pending["id"], "measured": GOOD},
        headers=world.lab.auth,
    )
    assert early.status_code == 409


async def test_rca_workflow_with_failures_and_actions(
    client: httpx.AsyncClient, world: World
) -> None:
    auth = world.lab.auth
    failure = await client.post(
        "/api/qc/failures",
        json={"reason": "chipped edge", "station": "edging", "equipment_id": "EDG-2"},
        headers=auth,
    )
    assert failure.status_code == 201, failure.text
    failure_id = failure.json()["id"]
    bad = await client.post(
        "/api/qc/rca",
        json={"title": "x", "category": "weather", "failure_ids": []},
        headers=auth,
    )
    assert bad.status_code == 422
    opened = await client.post(
        "/api/qc/rca",
        json={"title": "Edge chips on EDG-2", "category": "machine", "failure_ids": [failure_id]},
        headers=auth,
    )
    assert opened.status_code == 201, opened.text
    rca = opened.json()
    assert rca["status"] == "open" and rca["failure_ids"] == [failure_id]
    url = f"/api/qc/rca/{rca['id']}"
    skip = await client.post(f"{url}/transitions", json={"to": "verified"}, headers=auth)
    assert skip.status_code == 409
    assert skip.json()["allowed"] == ["investigating"]
    steps = [
        {"to": "investigating"},
        {"to": "corrective_action", "root_cause": "worn edging wheel"},
    ]
    for step in steps:
        moved = await client.post(f"{url}/transitions", json=step, headers=auth)
        assert moved.status_code == 200, moved.text
    unverified = await client.post(f"{url}/transitions", json={"to": "verified"}, headers=auth)
    assert unverified.status_code == 409  # no corrective action yet
    action = await client.post(
        f"{url}/actions", json={"description": "replace wheel", "owner": "maint"}, headers=auth
    )
    assert action.status_code == 201
    for to in ("verified", "closed"):
        moved = await client.post(f"{url}/transitions", json={"to": to}, headers=auth)
        assert moved.status_code == 200, moved.text
    final = (await client.get(url, headers=auth)).json()
    assert final["status"] == "closed"
    assert final["root_cause"] == "worn edging wheel"
    assert [a["description"] for a in final["corrective_actions"]] == ["replace wheel"]
    other = await client.get(url, headers=world.practice.auth)
    assert other.status_code in (403, 404)
