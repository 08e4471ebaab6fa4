"""A killed AnomalyModel actor rebuilds its detectors from the telemetry in PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import ray

from actors.anomaly import RayAnomaly, actor_name
from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.settings import Settings
from ils.sim.telemetry import DegradationParams, Machine, TelemetryGenerator
from tests.integration.conftest import make_party

HEALTHY = DegradationParams(gradual_rate=0.0, sudden_rate=0.0, drift_rate=0.0, spike_prob=0.0)


async def test_killed_anomaly_actor_rebuilds_from_the_database(
    ray_cluster: None, cluster_settings: Settings
) -> None:
    port = RayAnomaly(cluster_settings)
    runtime = await Runtime.open(cluster_settings, Gateways(anomaly=port))
    app = create_app(cluster_settings, runtime=runtime)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as client:
            lab = await make_party(runtime, client, TenantKind.LAB, "Anomaly Lab")
            made = await client.post(
                "/api/equipment",
                json={"id": "edger-1", "station": "edging", "kind": "edger"},
                headers=lab.auth,
            )
            assert made.status_code == 201
            now = runtime.clock()
            gen = TelemetryGenerator(
                [Machine("edger-1", "edger")], np.random.default_rng(3), HEALTHY
            )
            window = gen.readings_between(
                now - timedelta(days=1), now - timedelta(hours=1), timedelta(minutes=10)
            )
            readings = [{**r, "at": r["at"].isoformat()} for r in window.readings]

            async def send(batch: list[dict[str, Any]]) -> dict[str, Any]:
                response = await client.post(
                    "/api/telemetry",
                    content=json.dumps({"readings": batch}),
                    headers={**lab.auth, "content-type": "application/json"},
                )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body

            assert (await send(readings))["accepted"] == len(readings)
            before = await port.machines(lab.tenant_id)
            ray.kill(ray.get_actor(actor_name(lab.tenant_id), namespace="ils"), no_restart=False)
            after = await port.machines(lab.tenant_id)
            assert after == before and before["edger-1"]["readings"] == len(readings)
            late = [{**readings[-1], "at": (now - timedelta(minutes=30)).isoformat()}]
            early = [{**readings[-1], "at": (now - timedelta(hours=2)).isoformat()}]
            verdicts = (await send(early + late))["verdicts"]
            assert [(v["outcome"], v["code"]) for v in verdicts] == [
                ("rejected", "out-of-order"),
                ("accepted", None),
            ]
    finally:
        await runtime.close()
