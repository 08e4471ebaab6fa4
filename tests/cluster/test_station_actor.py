"""A StationActor killed mid-stream rebuilds from PostgreSQL to exactly the database's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import ray

from actors.station import RayStations, actor_name
from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.domain.lims_event import LimsEvent, parse_event
from ils.domain.station import LINE, Station
from ils.runtime import Runtime
from ils.services.ports import Gateways
from ils.services.stations import load_station
from ils.settings import Settings
from tests.integration.conftest import make_party, order_body

ROUTE = ("picking", "surfacing", "edging")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _stream(order_ids: list[str]) -> list[LimsEvent]:
    """Jobs entering the line a few minutes apart; the last ones stop at surfacing."""
    out: list[LimsEvent] = []
    for j, oid in enumerate(order_ids):
        seq, minute = 0, 4.0 * j
        stops = ROUTE if j < len(order_ids) - 3 else ROUTE[:2]
        for station in stops:
            for status in ("queued", "in_process", "done"):
                if station == stops[-1] and status == "done" and len(stops) == 2:
                    break
                seq += 1
                minute += 3.0 + (j % 3)
                raw: dict[str, Any] = {
                    "id": f"evt_{j}_{seq}",
                    "type": "job.station_changed",
                    "occurred_at": (T0 + timedelta(minutes=minute)).isoformat(),
                    "data": {"job_id": f"J{j}", "order_id": oid, "sequence": seq,
                             "station": station, "status": status},
                }  # fmt: skip
                out.append(parse_event(raw))
    return sorted(out, key=lambda e: e.occurred_at)


async def test_killed_station_actor_rebuilds_from_the_database(
    ray_cluster: None, cluster_settings: Settings
) -> None:
    port = RayStations(cluster_settings)
    runtime = await Runtime.open(cluster_settings, Gateways(stations=port))
    app = create_app(cluster_settings, runtime=runtime)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as client:
            lab = await make_party(runtime, client, TenantKind.LAB, "Station Lab")
            practice = await make_party(runtime, client, TenantKind.PRACTICE, "Station Practice")
            await runtime.identity.link(lab.tenant_id, practice.tenant_id, runtime.clock())
            order_ids = []
            for _ in range(10):
                made = await client.post(
                    "/api/orders", json=order_body(lab.tenant_id), headers=practice.auth
                )
                order_ids.append(made.json()["id"])
        events = _stream(order_ids)
        half = len(events) // 2
        for i in range(0, len(events), 6):
            if i <= half < i + 6:
                surfacing = ray.get_actor(
                    actor_name(lab.tenant_id, Station.SURFACING), namespace="ils"
                )
                ray.kill(surfacing, no_restart=False)
            results = await runtime.lims_inbound.ingest(
                lab.tenant_id, events[i : i + 6], runtime.clock()
            )
            assert {r.result for r in results} == {"applied"}
        live = await port.read(lab.tenant_id)
        rebuilt = [(await load_station(runtime.db, lab.tenant_id, s)).snapshot() for s in LINE]
        assert live == rebuilt
        by_station = {s["station"]: s for s in live}
        assert by_station["surfacing"]["in_process"] == 3
        assert by_station["surfacing"]["mean_service_min"] is not None
        assert by_station["edging"]["throughput_per_hour"] > 0
    finally:
        await runtime.close()
