"""OIDC bearer tokens from a tenant's issuer, verified against a JWKS served on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ils.runtime import Runtime
from tests.integration.conftest import World

AUDIENCE = "ils-api"
ROLES = "https://ils.example/roles"


class Issuer:
    """A fake identity provider: key pairs, a JWKS on loopback, and token minting."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {
            "k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)
        }
        self.served = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.served += 1
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(
                jwt.algorithms.get_default_algorithms()[_alg(key)].to_jwk(key.public_key())
            )
            keys.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": keys}

    def token(self, kid: str = "k1", key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "exp": now + 300, "iat": now, "sub": "u1"}
        body.update(claims)
        signer = key if key is not None else self.keys[kid]
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None},
            signer,
            algorithm=_alg(signer),
            headers={"kid": kid},
        )


def _alg(key: Any) -> str:
    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    made = Issuer()
    yield made
    made.server.shutdown()
    made.server.server_close()


async def _configure(client: httpx.AsyncClient, world: World, issuer: Issuer, **extra: Any) -> None:
    config = {
        "issuer": issuer.url,
        "audience": AUDIENCE,
        "role_claim": ROLES,
        "role_map": {"lab-admins": "admin", "technicians": "lab_tech"},
    } | extra
    response = await client.put("/api/tenant/sso", json=config, headers=world.lab.auth)
    assert response.status_code == 200, response.text


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_auth0_style_token_maps_to_a_user_and_role(
    client: httpx.AsyncClient, runtime: Runtime, world: World, issuer: Issuer
) -> None:
    await _configure(client, world, issuer)
    token = issuer.token(email="tech@lens-lab.example", **{ROLES: ["technicians"]})
    me = await client.get("/api/me", headers=_bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["tenant_id"] == world.lab.tenant_id
    assert me.json()["role"] == "lab_tech"
    again = await client.get("/api/me", headers=_bearer(token))
    assert again.json()["user_id"] == me.json()["user_id"]
    assert issuer.served == 1  # the key set is cached
    # An existing ILS user signs in by email.
    admin = issuer.token(email=world.lab.email, **{ROLES: ["lab-admins"]})
    mine = await client.get("/api/me", headers=_bearer(admin))
    assert mine.json()["user_id"] == world.lab.admin_id
    # The practice's orders stay out of reach of a lab token and vice versa (tenant from issuer).
    assert (await client.get("/api/orders", headers=_bearer(admin))).status_code == 200


async def test_cognito_style_access_token_with_client_id_and_groups(
    client: httpx.AsyncClient, world: World, issuer: Issuer
) -> None:
    await _configure(client, world, issuer, role_claim="cognito:groups", email_claim="username")
    token = issuer.token(
        aud=None,
        token_use="access",
        client_id=AUDIENCE,
        username="eng@lens-lab.example",
        **{"cognito:groups": ["other", "technicians"]},
    )
    me = await client.get("/api/me", headers=_bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "lab_tech"


async def test_bad_tokens_are_refused(
    client: httpx.AsyncClient, world: World, issuer: Issuer
) -> None:
    await _configure(client, world, issuer)
    good = {"email": "tech@lens-lab.example", ROLES: ["technicians"]}
    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = [
        issuer.token(**good, exp=now - 3600),
        issuer.token(**good, nbf=now + 3600),
        issuer.token(**good, aud="someone-else"),
        issuer.token(**good, iss="https://evil.example/"),
        issuer.token(key=stranger, **good),
        issuer.token(kid="unknown", key=stranger, **good),
        jwt.encode({**good, "iss": issuer.url, "aud": AUDIENCE, "exp": now + 60}, None, "none"),
        issuer.token(email="tech@lens-lab.example", **{ROLES: ["nobody"]}),
        issuer.token(**{ROLES: ["technicians"]}),  # no email
        issuer.token(email=world.practice.email, **{ROLES: ["technicians"]}),  # other tenant
        "a.b.c",
    ]
    for token in bad:
        response = await client.get("/api/me", headers=_bearer(token))
        assert response.status_code in (401, 403), (token, response.text)
    hmac_forged = jwt.encode(
        {**good, "iss": issuer.url, "aud": AUDIENCE, "exp": now + 60},
        "k" * 32,
        "HS256",
        headers={"kid": "k1"},
    )
    assert (await client.get("/api/me", headers=_bearer(hmac_forged))).status_code == 401


async def test_rotated_key_is_fetched_on_unknown_kid(
    client: httpx.AsyncClient, runtime: Runtime, world: World, issuer: Issuer
) -> None:
    await _configure(client, world, issuer)
    claims = {"email": "tech@lens-lab.example", ROLES: ["technicians"]}
    assert (await client.get("/api/me", headers=_bearer(issuer.token(**claims)))).status_code == 200
    issuer.keys["k2"] = ec.generate_private_key(ec.SECP256R1())
    for sets in runtime.identity.sso.jwks.sets.values():
        sets.fetched_at -= 60  # past the minimum refresh interval
    rotated = issuer.token(kid="k2", **claims)
    assert (await client.get("/api/me", headers=_bearer(rotated))).status_code == 200
    assert issuer.served == 2


async def test_only_admins_configure_sso_and_removal_is_immediate(
    client: httpx.AsyncClient, world: World, issuer: Issuer
) -> None:
    refused = await client.put(
        "/api/tenant/sso",
        json={"issuer": "http://example.com/", "audience": AUDIENCE},
        headers=world.lab.auth,
    )
    assert refused.status_code == 422  # plain http off loopback
    await _configure(client, world, issuer)
    token = issuer.token(email="tech@lens-lab.example", **{ROLES: ["technicians"]})
    assert (await client.get("/api/tenant/sso", headers=_bearer(token))).status_code == 403
    assert (await client.get("/api/tenant/sso", headers=world.lab.auth)).status_code == 200
    assert (await client.delete("/api/tenant/sso", headers=world.lab.auth)).status_code == 204
    assert (await client.get("/api/me", headers=_bearer(token))).status_code == 401
