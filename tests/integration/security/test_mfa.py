"""TOTP enrolment, login with a second factor, recovery codes, and MFA required for admins."""

from __future__ import annotations

import httpx
import pyotp

from ils.runtime import Runtime
from tests.integration.conftest import PASSWORD, World
from tests.integration.security.conftest import MovableClock, add_user, audit_actions


async def _login(client: httpx.AsyncClient, email: str, totp: str | None = None) -> httpx.Response:
    body = {"email": email, "password": PASSWORD} | ({"totp": totp} if totp else {})
    return await client.post("/api/auth/login", json=body)


async def _enable(
    client: httpx.AsyncClient, clock: MovableClock, headers: dict[str, str]
) -> dict[str, object]:
    enrolled = await client.post("/api/auth/mfa/enroll", headers=headers)
    assert enrolled.status_code == 200, enrolled.text
    body: dict[str, object] = enrolled.json()
    code = pyotp.TOTP(str(body["secret"])).at(clock.now)
    confirmed = await client.post("/api/auth/mfa/confirm", json={"totp": code}, headers=headers)
    assert confirmed.status_code == 204, confirmed.text
    return body


async def test_enrol_confirm_then_login_needs_a_fresh_code(
    client: httpx.AsyncClient, runtime: Runtime, world: World, clock: MovableClock
) -> None:
    body = await _enable(client, clock, world.lab.auth)
    assert str(body["otpauth_uri"]).startswith("otpauth://totp/ILS:")
    totp = pyotp.TOTP(str(body["secret"]))

    missing = await _login(client, world.lab.email)
    assert missing.status_code == 401
    assert missing.json()["type"] == "/problems/mfa-required"
    # The code that confirmed enrolment was used once already.
    replayed = await _login(client, world.lab.email, totp.at(clock.now))
    assert replayed.json()["type"] == "/problems/mfa-required"
    clock.advance(seconds=31)
    fresh = await _login(client, world.lab.email, totp.at(clock.now))
    assert fresh.status_code == 200, fresh.text
    again = await _login(client, world.lab.email, totp.at(clock.now))
    assert again.status_code == 401
    actions = await audit_actions(runtime, world.lab.tenant_id)
    for action in ("mfa.enrollment_started", "mfa.enabled", "auth.mfa_required", "auth.mfa_failed"):
        assert action in actions


async def test_secret_is_sealed_at_rest(
    client: httpx.AsyncClient, runtime: Runtime, world: World, clock: MovableClock
) -> None:
    body = await _enable(client, clock, world.practice.auth)
    async with runtime.db.connection() as conn:
        stored = await conn.fetchval(
            "SELECT mfa_secret FROM users WHERE id = $1", world.practice.admin_id
        )
        hashes = await conn.fetch(
            "SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1", world.practice.admin_id
        )
    assert str(body["secret"]) not in stored
    assert stored.startswith("v1.")
    codes = [str(c) for c in body["recovery_codes"]]  # type: ignore[attr-defined]
    assert len(hashes) == len(codes) == 10
    assert all(c.encode() not in bytes(h["code_hash"]) for c in codes for h in hashes)


async def test_recovery_codes_work_once(
    client: httpx.AsyncClient, world: World, clock: MovableClock
) -> None:
    body = await _enable(client, clock, world.practice.auth)
    code = str(body["recovery_codes"][0])  # type: ignore[index]
    assert (await _login(client, world.practice.email, code.lower())).status_code == 200
    assert (await _login(client, world.practice.email, code)).status_code == 401
    other = str(body["recovery_codes"][1])  # type: ignore[index]
    assert (await _login(client, world.practice.email, other)).status_code == 200


async def test_wrong_confirmation_code_leaves_mfa_off(
    client: httpx.AsyncClient, world: World, clock: MovableClock
) -> None:
    assert (await client.post("/api/auth/mfa/enroll", headers=world.lab.auth)).status_code == 200
    wrong = await client.post(
        "/api/auth/mfa/confirm", json={"totp": "000000"}, headers=world.lab.auth
    )
    assert wrong.status_code == 422
    assert (await _login(client, world.lab.email)).status_code == 200


async def test_admin_past_grace_may_only_enrol_until_mfa_is_on(
    client: httpx.AsyncClient, runtime: Runtime, world: World, clock: MovableClock
) -> None:
    _, ecp_token = await add_user(client, world.practice, "ecp@bright-eyes.example", "ecp")
    clock.advance(days=runtime.settings.mfa_grace_days, seconds=1)
    signed = await _login(client, world.practice.email)
    assert signed.status_code == 200
    assert signed.json()["scope"] == "mfa_enrollment"
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    blocked = await client.get("/api/orders", headers=headers)
    assert blocked.status_code == 403
    assert blocked.json()["type"] == "/problems/mfa-enrollment-required"
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    await _enable(client, clock, headers)
    assert (await client.get("/api/orders", headers=headers)).status_code == 200
    # An ecp is not required to use MFA unless the tenant says so.
    ecp = await _login(client, "ecp@bright-eyes.example")
    assert ecp.json()["scope"] == "full"
    assert ecp_token


async def test_tenant_can_require_mfa_for_other_roles(
    client: httpx.AsyncClient, runtime: Runtime, world: World, clock: MovableClock
) -> None:
    await add_user(client, world.practice, "ecp@bright-eyes.example", "ecp")
    bad = await client.put(
        "/api/tenant/security",
        json={"mfa_required_roles": ["lab_tech"]},
        headers=world.practice.auth,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/mfa_required_roles/0"
    made = await client.put(
        "/api/tenant/security", json={"mfa_required_roles": ["ecp"]}, headers=world.practice.auth
    )
    assert made.status_code == 200
    clock.advance(days=runtime.settings.mfa_grace_days + 1)
    ecp = await _login(client, "ecp@bright-eyes.example")
    assert ecp.json()["scope"] == "mfa_enrollment"
