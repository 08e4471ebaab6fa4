"""Guessing passwords locks the account (and the address) out; common passwords are refused."""

from __future__ import annotations

import httpx

from ils.runtime import Runtime
from tests.integration.conftest import PASSWORD, World, login
from tests.integration.security.conftest import add_user, audit_actions


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_repeated_failures_lock_the_account_with_retry_after(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    limit = runtime.settings.login_failures_per_account
    for _ in range(limit):
        response = await _attempt(client, world.lab.email, "Wrong-Password-1!")
        assert response.json()["type"] == "/problems/invalid-credentials"
    locked = await _attempt(client, world.lab.email, PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert locked.json()["type"] == "/problems/locked-out"
    retry = int(locked.headers["Retry-After"])
    assert 0 < retry <= runtime.settings.lockout_s
    actions = await audit_actions(runtime, world.lab.tenant_id)
    assert actions.count("auth.login_failed") == limit
    assert "auth.locked_out" in actions
    # Other accounts are not affected, and the lock lifts when it expires.
    assert await login(client, world.practice.email)
    await runtime.bus.forget(*[k async for k in _lock_keys(runtime)])
    assert await login(client, world.lab.email)


async def _lock_keys(runtime: Runtime):  # type: ignore[no-untyped-def]
    async for key in runtime.bus.client.scan_iter(match=runtime.bus.key("login:lock:") + "*"):
        yield key.decode()[len(runtime.bus.prefix) :]


async def test_many_accounts_from_one_address_lock_the_address(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    for i in range(runtime.settings.login_failures_per_address):
        response = await _attempt(client, f"nobody{i}@guess.example", "Wrong-Password-1!")
        assert response.status_code == 401
    refused = await _attempt(client, world.practice.email, PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/locked-out"


async def test_success_resets_the_account_counter(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    for _round in range(3):
        for _ in range(runtime.settings.login_failures_per_account - 1):
            assert (await _attempt(client, world.lab.email, "Wrong-Password-1!")).status_code == 401
        assert await login(client, world.lab.email)


async def test_common_passwords_are_refused_even_disguised(
    client: httpx.AsyncClient, world: World
) -> None:
    for password in ("Password2026!", "P@ssw0rd12345!", "Welcome12345!", "Summer2025!!"):
        response = await client.post(
            "/api/users",
            json={"email": "new@bright-eyes.example", "password": password, "role": "ecp"},
            headers=world.practice.auth,
        )
        assert response.status_code == 422, password
        codes = [e["code"] for e in response.json()["errors"]]
        assert "password-too-common" in codes, password


async def test_logout_everywhere_ends_every_session_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    other = await login(client, world.practice.email)
    both = [world.practice.auth, {"Authorization": f"Bearer {other}"}]
    for headers in both:
        assert (await client.get("/api/me", headers=headers)).status_code == 200
    out = await client.post("/api/auth/logout", json={"everywhere": True}, headers=both[1])
    assert out.status_code == 204
    for headers in both:
        assert (await client.get("/api/me", headers=headers)).status_code == 401


async def test_unicode_tricks_in_emails_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    before = await audit_actions(runtime, world.practice.tenant_id)
    tricks = [
        world.practice.email + "\u200b",
        world.practice.email.replace("a", "\u0430"),  # Cyrillic a
        "\uff41dmin@bright-eyes.example",  # full-width a
        world.practice.email + "\x00",
        world.practice.email.upper().replace("I", "\u0130"),
    ]
    for email in tricks:
        response = await _attempt(client, email, PASSWORD)
        assert response.status_code in (401, 422), (email, response.text)
        made = await client.post(
            "/api/users",
            json={"email": email, "password": "Unusual-Phrase-93#", "role": "ecp"},
            headers=world.practice.auth,
        )
        assert made.status_code in (409, 422), (email, made.text)
    assert await audit_actions(runtime, world.practice.tenant_id) == before
    _, token = await add_user(client, world.practice, "ecp@bright-eyes.example", "ecp")
    assert token
