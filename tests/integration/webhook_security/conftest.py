"""Fixtures for webhook security: a signed LIMS sender for the world's lab, and its audit rows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ils.runtime import Runtime
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims


@pytest.fixture
def lims(client: httpx.AsyncClient, world: World) -> Lims:
    assert world.lab.webhook_secret
    return Lims(client, world, world.lab.webhook_secret)


async def rejected_rows(runtime: Runtime, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's ``webhook.rejected`` audit rows, oldest first (their details)."""
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'webhook.rejected'"
            " ORDER BY n",
            tenant_id,
        )
    return [dict(r["details"]) for r in rows]


async def stored_secrets(runtime: Runtime, tenant_id: str) -> tuple[str | None, str | None]:
    async with runtime.db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT webhook_secret, webhook_secret_previous FROM tenants WHERE id = $1", tenant_id
        )
    return row["webhook_secret"], row["webhook_secret_previous"]
