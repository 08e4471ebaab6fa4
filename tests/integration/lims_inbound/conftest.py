"""Fixtures for the LIMS inbound tests: a lab with orders, and a signed webhook sender."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ils.lims.signature import sign
from ils.runtime import Runtime
from tests.integration.conftest import World, order_body


@dataclass
class Lims:
    """Plays the LIMS: builds events with per-job sequences and posts them signed."""

    client: httpx.AsyncClient
    world: World
    secret: str
    sequences: dict[str, int] = field(default_factory=dict)
    count: int = 0

    def event(
        self, order_id: str, kind: str, job_id: str | None = None, **data: Any
    ) -> dict[str, Any]:
        """An event of the order's job (job id ``J-<order id prefix>`` unless given)."""
        self.count += 1
        job_id = job_id or f"J-{order_id[:8]}"
        seq = data.pop("sequence", None)
        if seq is None:
            seq = self.sequences.get(order_id, 0) + 1
        self.sequences[order_id] = max(seq, self.sequences.get(order_id, 0))
        body = {"job_id": job_id, "order_id": order_id, "sequence": seq, **data}
        return {
            "id": f"evt_{self.count:06d}_{order_id[:8]}",
            "type": kind,
            "occurred_at": "2026-11-25T14:03:11.120Z",
            "data": body,
        }

    async def post(
        self,
        payload: Any,
        *,
        lab_id: str | None = None,
        secret: str | None = None,
        t: int | None = None,
        raw: bytes | None = None,
    ) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload).encode()
        stamp = int(time.time()) if t is None else t
        header = sign((secret or self.secret).encode(), body, stamp)
        url = f"/api/webhooks/lims/{lab_id or self.world.lab.tenant_id}"
        return await self.client.post(
            url, content=body, headers={"ILS-Signature": header, "Content-Type": "application/json"}
        )


@pytest.fixture
def lims(client: httpx.AsyncClient, world: World) -> Lims:
    assert world.lab.webhook_secret
    return Lims(client, world, world.lab.webhook_secret)


async def place_order(client: httpx.AsyncClient, world: World, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id, **changes), headers=world.practice.auth
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def read_order(client: httpx.AsyncClient, world: World, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/orders/{order_id}", headers=world.lab.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def table_counts(runtime: Runtime) -> dict[str, int]:
    tables = ("lims_webhook_events", "breakages", "lims_inspections", "station_movements")
    async with runtime.db.connection() as conn:
        counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in tables}
        counts["events"] = int(await conn.fetchval("SELECT count(*) FROM events"))
        counts["audit"] = int(await conn.fetchval("SELECT count(*) FROM audit_log"))
        counts["order_versions"] = int(
            await conn.fetchval("SELECT coalesce(sum(version + lims_sequence), 0) FROM orders")
        )
    return counts
