"""A new equipment alert reaches the lab's screens over the WebSocket gateway, in real time."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import numpy as np

from ils.domain.access import TenantKind
from ils.settings import Settings
from ils.sim.telemetry import Machine, TelemetryGenerator
from tests.integration.anomaly.test_telemetry_api import HEALTHY
from tests.integration.conftest import make_party
from tests.integration.realtime_stack import Screen, realtime_stack


async def test_an_alert_is_pushed_to_the_labs_screen(settings: Settings) -> None:
    async with realtime_stack(settings) as stack:
        lab = await make_party(stack.runtime, stack.client, TenantKind.LAB, "Live Lab")
        headers = {**lab.auth, "content-type": "application/json"}
        body = {"id": "edger-1", "station": "edging", "kind": "edger"}
        made = await stack.client.post("/api/equipment", json=body, headers=lab.auth)
        assert made.status_code == 201
        now = stack.runtime.clock()
        gen = TelemetryGenerator([Machine("edger-1", "edger")], np.random.default_rng(4), HEALTHY)
        window = gen.readings_between(now - timedelta(minutes=330), now, timedelta(minutes=1))
        readings = [{**r, "at": r["at"].isoformat()} for r in window.readings[:-1]]
        warm = await stack.client.post(
            "/api/telemetry", content=json.dumps({"readings": readings}), headers=headers
        )
        assert warm.json()["accepted"] == len(readings)
        screen = await Screen.open(stack.ws_url, lab.token)
        await screen.ws.send(json.dumps({"type": "subscribe", "topics": ["alerts"]}))
        spike = {**window.readings[-1], "at": window.readings[-1]["at"].isoformat()}
        spike["metrics"] = {**spike["metrics"], "vibration_mm_s": 40.0}
        sent = time.perf_counter()
        posted = await stack.client.post(
            "/api/telemetry", content=json.dumps({"readings": [spike]}), headers=headers
        )
        alert_id = posted.json()["alerts"][0]["id"]

        async def pushed() -> dict[str, object]:
            while True:
                frame = await screen.next(timeout=5.0)
                if frame["type"] == "event" and frame["event"]["alert"]["id"] == alert_id:
                    return dict(frame)

        frame = await asyncio.wait_for(pushed(), 10.0)
        assert time.perf_counter() - sent < 5.0
        event = frame["event"]
        assert isinstance(event, dict) and event["type"] in ("alert.raised", "alert.updated")
        assert event["alert"]["evidence"]["value"] == 40.0
        await screen.close()
