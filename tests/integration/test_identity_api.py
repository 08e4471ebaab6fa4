"""Login, tokens, sessions, /api/me and user administration against real PostgreSQL."""

from __future__ import annotations

import httpx

from ils.runtime import Runtime
from tests.integration.conftest import PASSWORD, World, login


async def test_me_reports_tenant_role_and_permissions(
    client: httpx.AsyncClient, world: World
) -> None:
    me = (await client.get("/api/me", headers=world.practice.auth)).json()
    assert me["tenant_id"] == world.practice.tenant_id
    assert me["tenant_kind"] == "practice"
    assert me["role"] == "admin"
    assert "orders:create" in me["permissions"]
    lab_me = (await client.get("/api/me", headers=world.lab.auth)).json()
    assert "orders:create" not in lab_me["permissions"]


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, world: World
) -> None:
    wrong = await client.post(
        "/api/auth/login", json={"email": world.lab.email, "password": "Nope-nope-123!"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "ghost@nowhere.example", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["type"] == "/problems/invalid-credentials"


async def test_missing_malformed_and_revoked_tokens_are_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.get("/api/me")).status_code == 401
    bad = await client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.json()["type"] == "/problems/unauthenticated"
    token = await login(client, world.lab.email)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/api/auth/logout", headers=auth)).status_code == 204
    assert (await client.get("/api/me", headers=auth)).status_code == 401
    # another session of the same user is untouched
    assert (await client.get("/api/me", headers=world.lab.auth)).status_code == 200


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, world: World
) -> None:
    first = (
        await client.post("/api/auth/login", json={"email": world.lab.email, "password": PASSWORD})
    ).json()
    second = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    fresh = second.json()
    old_auth = {"Authorization": f"Bearer {first['access_token']}"}
    new_auth = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert (await client.get("/api/me", headers=old_auth)).status_code == 401
    assert (await client.get("/api/me", headers=new_auth)).status_code == 200
    replay = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert (await client.get("/api/me", headers=new_auth)).status_code == 401


async def test_expired_access_token_is_refused(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    from datetime import timedelta

    real_clock = runtime.clock
    runtime.clock = lambda: (
        real_clock() + timedelta(seconds=runtime.settings.access_token_ttl_s + 1)
    )
    try:
        response = await client.get("/api/me", headers=world.lab.auth)
    finally:
        runtime.clock = real_clock
    assert response.status_code == 401


async def test_admin_creates_users_with_the_password_policy_and_tenant_roles(
    client: httpx.AsyncClient, world: World
) -> None:
    weak = await client.post(
        "/api/users",
        headers=world.practice.auth,
        json={"email": "ecp@bright.example", "password": "short", "role": "ecp"},
    )
    assert weak.status_code == 422
    codes = {e["code"] for e in weak.json()["errors"]}
    assert {
        "password-too-short",
        "password-needs-upper",
        "password-needs-digit",
        "password-needs-symbol",
    } <= codes
    wrong_role = await client.post(
        "/api/users",
        headers=world.practice.auth,
        json={"email": "tech@bright.example", "password": PASSWORD, "role": "lab_tech"},
    )
    assert wrong_role.status_code == 422
    made = await client.post(
        "/api/users",
        headers=world.practice.auth,
        json={"email": "ecp@bright.example", "password": PASSWORD, "role": "ecp"},
    )
    assert made.status_code == 201, made.text
    token = await login(client, "ecp@bright.example")
    ecp = {"Authorization": f"Bearer {token}"}
    me = (await client.get("/api/me", headers=ecp)).json()
    assert me["role"] == "ecp" and me["tenant_id"] == world.practice.tenant_id
    forbidden = await client.post(
        "/api/users",
        headers=ecp,
        json={"email": "x@bright.example", "password": PASSWORD, "role": "ecp"},
    )
    assert forbidden.status_code == 403
    duplicate = await client.post(
        "/api/users",
        headers=world.practice.auth,
        json={"email": "ECP@bright.example", "password": PASSWORD, "role": "ecp"},
    )
    assert duplicate.status_code == 409
