"""SSO: OIDC bearer JWTs from a tenant's configured issuer, verified against its JWKS.

The issuer's key set is fetched with httpx and cached per URI; a token signed with a ``kid`` the
cache does not know triggers one refresh (at most every ``MIN_REFRESH_S`` per URI, so forged kids
cannot turn ILS into a request amplifier). PyJWT verifies the signature with the key's own
algorithm (RSA or EC only: never ``none`` or HMAC); the claims are judged by ils/domain/sso.py
against the injected clock. The user is found by email inside the tenant (created on first sign-in
when the tenant allows it) and gets the role the claims map to.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import jwt

from ils.db import audit, identity
from ils.db.database import Database
from ils.domain.access import Principal, Role, TenantKind, roles_for
from ils.domain.sso import SsoConfig, claim_problem, mapped_email, mapped_role
from ils.errors import Forbidden, Unauthenticated

ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})
MIN_REFRESH_S = 10.0
MAX_AGE_S = 3600.0
#: An unusable password hash for users created by SSO: argon2 never verifies it.
NO_PASSWORD = "!sso"


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = 0.0


class JwksCache:
    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self.sets: dict[str, _KeySet] = {}
        self.fetches = 0

    async def key(self, uri: str, kid: str) -> jwt.PyJWK:
        entry = self.sets.get(uri)
        age = time.monotonic() - entry.fetched_at if entry else None
        if (
            entry is None
            or age is None
            or age > MAX_AGE_S
            or (kid not in entry.keys and age > MIN_REFRESH_S)
        ):
            entry = await self._fetch(uri)
        if kid not in entry.keys:
            raise Unauthenticated("the token was signed with an unknown key")
        return entry.keys[kid]

    async def _fetch(self, uri: str) -> _KeySet:
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(uri)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthenticated("the identity provider's keys could not be fetched") from exc
        keys = {}
        for item in document.get("keys", []) if isinstance(document, dict) else []:
            try:
                if isinstance(item, dict) and item.get("kid"):
                    keys[str(item["kid"])] = jwt.PyJWK(item)
            except jwt.PyJWTError:
                continue  # a key type PyJWT cannot use is skipped, not fatal
        entry = _KeySet(keys, time.monotonic())
        self.sets[uri] = entry
        return entry


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class Sso:
    def __init__(self, db: Database, jwks: JwksCache | None = None) -> None:
        self.db = db
        self.jwks = jwks or JwksCache()

    async def principal(self, token: str, now: datetime) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the bearer token is not valid") from exc
        issuer, alg, kid = unverified.get("iss"), header.get("alg"), header.get("kid")
        if not isinstance(issuer, str) or alg not in ALGORITHMS or not isinstance(kid, str):
            raise Unauthenticated("the bearer token is not valid")
        async with self.db.connection() as conn:
            candidates = await identity.tenants_by_issuer(conn, issuer)
        for tenant_id, kind, raw in candidates:
            config = SsoConfig.model_validate(raw)
            key = await self.jwks.key(config.keys_uri, kid)
            claims = self._verified(token, key, alg)
            if claim_problem(config, claims, now) is None:
                return await self._user(tenant_id, TenantKind(kind), config, claims, now)
        raise Unauthenticated("the bearer token is not valid for any tenant")

    def _verified(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token's signature is not valid") from exc
        return claims

    async def _user(
        self,
        tenant_id: str,
        kind: TenantKind,
        config: SsoConfig,
        claims: dict[str, Any],
        now: datetime,
    ) -> Principal:
        email, role = mapped_email(config, claims), mapped_role(config, claims)
        if email is None:
            raise Unauthenticated(f"the token has no {config.email_claim} claim")
        if role is None or role not in [str(r) for r in roles_for(kind)]:
            raise Forbidden("the token's claims map to no role of this tenant")
        async with self.db.transaction() as conn:
            user = await identity.user_by_email(conn, email.strip().lower())
            if user is not None and user.tenant_id != tenant_id:
                raise Unauthenticated("this email belongs to another tenant")
            if user is not None and user.disabled:
                raise Unauthenticated("this user is disabled")
            if user is None:
                if not config.auto_provision:
                    raise Unauthenticated("no user with this email in the tenant")
                user_id = str(uuid.uuid4())
                await identity.insert_user(
                    conn, user_id, tenant_id, email.strip().lower(), NO_PASSWORD, role, now
                )
                await audit.record(
                    conn,
                    tenant_id,
                    now,
                    None,
                    "sso.user_provisioned",
                    user_id,
                    {"email": email.strip().lower(), "role": role, "issuer": config.issuer},
                )
            else:
                user_id = user.id
        return Principal(user_id, tenant_id, kind, Role(role), email.strip().lower(), "")
