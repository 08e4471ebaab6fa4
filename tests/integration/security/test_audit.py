"""The audit trail: listed for admins, and `ils audit verify` finds the first tampered row."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from typing import Any

import httpx
import pytest

from ils.cli import main
from ils.runtime import Runtime
from ils.settings import Settings
from tests.integration.conftest import World, login, order_body
from tests.integration.security.conftest import add_user


async def _verify(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tenant_id: str
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("ILS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ILS_REDIS_URL", settings.redis_url)
    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out):
            return main(["audit", "verify", "--tenant", tenant_id])

    code = await asyncio.to_thread(run)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


async def _busy_tenant(client: httpx.AsyncClient, world: World) -> None:
    """Logins, a logout, an order and a transition: rows of several kinds."""
    await login(client, world.practice.email)
    made = await client.post(
        "/api/orders", json=order_body(world.lab.tenant_id), headers=world.practice.auth
    )
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    moved = await client.post(
        f"/api/orders/{order_id}/transitions",
        json={"to": "cancelled", "reason": "test"},
        headers=world.practice.auth,
    )
    assert moved.status_code == 200, moved.text
    token = await login(client, world.practice.email)
    out = await client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204


async def test_admin_lists_filters_and_pages_the_trail(
    client: httpx.AsyncClient, world: World
) -> None:
    await _busy_tenant(client, world)
    first = await client.get("/api/audit", params={"limit": 3}, headers=world.practice.auth)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [r["n"] for r in page["items"]] == sorted((r["n"] for r in page["items"]), reverse=True)
    rest = await client.get(
        "/api/audit",
        params={"cursor": page["next_cursor"], "limit": 500},
        headers=world.practice.auth,
    )
    ns = [r["n"] for r in page["items"] + rest.json()["items"]]
    assert ns == list(range(len(ns), 0, -1))
    actions = {r["action"] for r in page["items"] + rest.json()["items"]}
    assert {"tenant.created", "auth.login", "auth.logout"} <= actions
    logins = await client.get(
        "/api/audit", params={"action": "auth.login"}, headers=world.practice.auth
    )
    assert {r["action"] for r in logins.json()["items"]} == {"auth.login"}
    # No row of another tenant, and only admins read it.
    lab_rows = await client.get("/api/audit", params={"limit": 500}, headers=world.lab.auth)
    assert not [
        r
        for r in lab_rows.json()["items"]
        if r["action"].startswith("auth.") and r["actor_id"] == world.practice.admin_id
    ]
    _, ecp = await add_user(client, world.practice, "ecp@bright-eyes.example", "ecp")
    denied = await client.get("/api/audit", headers={"Authorization": f"Bearer {ecp}"})
    assert denied.status_code == 403
    bad = await client.get("/api/audit", params={"cursor": "x1"}, headers=world.practice.auth)
    assert bad.status_code == 422


async def test_verify_passes_then_fails_at_the_altered_row(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _busy_tenant(client, world)
    tenant = world.practice.tenant_id
    code, result = await _verify(monkeypatch, settings, tenant)
    assert code == 0 and result["ok"], result
    assert result["rows"] >= 6
    async with runtime.db.connection() as conn:
        await conn.execute(
            'UPDATE audit_log SET details = details || \'{"reason": "edited"}\' '
            "WHERE tenant_id = $1 AND n = 4",
            tenant,
        )
    code, result = await _verify(monkeypatch, settings, tenant)
    assert code == 1
    assert result["broken_at"] == 4
    assert "content" in result["reason"]


async def test_verify_finds_deleted_reordered_and_truncated_rows(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _busy_tenant(client, world)
    await _busy_tenant(client, world)
    practice, lab = world.practice.tenant_id, world.lab.tenant_id
    async with runtime.db.connection() as conn:
        last = await conn.fetchval("SELECT max(n) FROM audit_log WHERE tenant_id = $1", lab)
        await conn.execute("DELETE FROM audit_log WHERE tenant_id = $1 AND n = $2", lab, last)
        await conn.execute("DELETE FROM audit_log WHERE tenant_id = $1 AND n = 3", practice)
    assert (await _verify(monkeypatch, settings, practice))[1]["broken_at"] == 3
    code, result = await _verify(monkeypatch, settings, lab)
    assert code == 1 and result["broken_at"] == last
    other = world.other_practice.tenant_id
    await _busy_tenant(client, World(world.lab, world.other_practice, world.practice))
    async with runtime.db.connection() as conn:  # swap the contents of rows 2 and 3
        await conn.execute(
            "UPDATE audit_log SET n = CASE n WHEN 2 THEN -3 ELSE -2 END "
            "WHERE tenant_id = $1 AND n IN (2, 3)",
            other,
        )
        await conn.execute("UPDATE audit_log SET n = -n WHERE tenant_id = $1 AND n < 0", other)
    code, result = await _verify(monkeypatch, settings, other)
    assert code == 1 and result["broken_at"] == 2


async def test_verify_refuses_a_malformed_tenant_id(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, result = await _verify(monkeypatch, settings, "not-a-uuid")
    assert code == 2 and not result["ok"]
