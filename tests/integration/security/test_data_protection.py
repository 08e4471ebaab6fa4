"""Pseudonymised exports, security headers, and bad input that must change nothing."""

from __future__ import annotations

from pathlib import Path

import httpx

from ils.api.app import create_app
from ils.runtime import Runtime
from ils.settings import Settings
from tests.integration.conftest import World, order_body
from tests.integration.security.conftest import audit_actions


async def _order(client: httpx.AsyncClient, world: World, patient: str) -> str:
    body = order_body(world.lab.tenant_id, patient_ref=patient, clinical_notes=f"{patient} notes")
    made = await client.post("/api/orders", json=body, headers=world.practice.auth)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_pseudonymised_export_hides_patients_but_keeps_them_countable(
    client: httpx.AsyncClient, world: World
) -> None:
    for patient in ("P-ANNA-1", "P-ANNA-1", "P-BOB-2"):
        await _order(client, world, patient)
    response = await client.get("/api/exports/orders", headers=world.practice.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pseudonymized"] is True
    assert "P-ANNA-1" not in response.text and "notes" not in response.text
    refs = [o["patient_ref"] for o in body["items"]]
    assert len(refs) == 3 and len(set(refs)) == 2
    assert all(r.startswith("p_") for r in refs)
    assert all("clinical_notes" not in o for o in body["items"])
    # The lab sees the same orders under other pseudonyms (keys are per tenant).
    lab = await client.get("/api/exports/orders", headers=world.lab.auth)
    assert not set(refs) & {o["patient_ref"] for o in lab.json()["items"]}
    plain = await client.get(
        "/api/exports/orders", params={"pseudonymize": "false"}, headers=world.practice.auth
    )
    assert {o["patient_ref"] for o in plain.json()["items"]} == {"P-ANNA-1", "P-BOB-2"}
    other = await client.get("/api/exports/orders", headers=world.other_practice.auth)
    assert other.json()["items"] == []


async def test_every_response_carries_security_headers(
    client: httpx.AsyncClient, world: World
) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/api/me", headers=world.lab.auth),
        await client.get("/api/me"),
        await client.get("/no/such/route"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers  # no TLS configured here


async def test_bad_input_never_fails_the_server_or_changes_state(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    before = await audit_actions(runtime, world.practice.tenant_id)
    auth = {**world.practice.auth, "Content-Type": "application/json"}
    bomb = "[" * 50_000 + "]" * 50_000
    cases = [
        ("/api/orders", b'{"lab_id": "\xff\xfe"}'),
        ("/api/orders", bomb.encode()),
        ("/api/orders", b'{"lab_id": ' + b'"x' * 600_000 + b'"}'),
        ("/api/orders", b"x" * (runtime.settings.max_body_bytes + 1)),
        ("/api/users", '{"email": "a\u0000@b.example", "password": "x", "role": "ecp"}'.encode()),
        ("/api/auth/login", b'{"email": "\xc3\x28@x.example", "password": "p"}'),
        ("/api/tenant/sso", b'{"issuer": {"a": ' * 1000 + b"1" + b"}" * 1000),
    ]
    for path, raw in cases:
        response = await client.post(path, content=raw, headers=auth)
        assert 400 <= response.status_code < 500, (path, raw[:40], response.text[:200])
        assert response.headers["content-type"].startswith("application/problem+json")
    huge_header = {**world.practice.auth, "X-Filler": "a" * 100_000}
    assert (await client.get("/api/me", headers=huge_header)).status_code < 500
    bad_token = {"Authorization": ("Bearer " + "\u00e9" * 5000).encode()}
    assert (await client.get("/api/me", headers=bad_token)).status_code == 401
    assert await audit_actions(runtime, world.practice.tenant_id) == before


async def test_hsts_is_sent_when_ils_serves_tls(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    tls = settings.model_copy(
        update={"tls_certfile": tmp_path / "cert.pem", "tls_keyfile": tmp_path / "key.pem"}
    )
    transport = httpx.ASGITransport(app=create_app(tls, runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://ils.test") as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")
