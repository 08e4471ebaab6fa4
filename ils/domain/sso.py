"""SSO (OIDC bearer tokens): a tenant's configuration, and the pure checks on verified claims.

The signature is verified elsewhere (ils/services/sso.py, against the issuer's JWKS); here the
claims are judged against the tenant's configuration and the clock: ``iss``, ``aud`` (or, for
Cognito access tokens which carry no ``aud``, ``client_id``), ``exp`` and ``nbf`` with a small
leeway, then mapped to an email and a role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

LEEWAY_S = 60


class SsoConfig(BaseModel):
    """Per-tenant SSO settings (PUT /api/tenant/sso)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    issuer: str = Field(min_length=8, max_length=500)
    audience: str = Field(min_length=1, max_length=500)
    #: Defaults to ``<issuer>/.well-known/jwks.json`` (Auth0 and Cognito publish it there).
    jwks_uri: str | None = Field(default=None, max_length=500)
    email_claim: str = Field(default="email", min_length=1, max_length=200)
    #: A claim holding a role name or a list of group names (Auth0 namespaced claim,
    #: ``cognito:groups``); None means every SSO user gets ``default_role``.
    role_claim: str | None = Field(default=None, max_length=200)
    role_map: dict[str, str] = Field(default_factory=dict, max_length=50)
    default_role: str | None = Field(default=None, max_length=32)
    #: Create the user on first sign-in when no user has that email yet.
    auto_provision: bool = True

    @field_validator("issuer", "jwks_uri")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("must be an https URL")
        return value

    @property
    def keys_uri(self) -> str:
        return self.jwks_uri or self.issuer.rstrip("/") + "/.well-known/jwks.json"


def claim_problem(config: SsoConfig, claims: dict[str, Any], now: datetime) -> str | None:
    """Why these (signature-verified) claims are not acceptable, or None when they are."""
    t = now.timestamp()
    if claims.get("iss") != config.issuer:
        return "the token's issuer is not the configured one"
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud] if aud is not None else []
    if config.audience not in audiences and not (
        aud is None
        and claims.get("token_use") == "access"
        and claims.get("client_id") == config.audience
    ):
        return "the token is not for this audience"
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or t > exp + LEEWAY_S:
        return "the token has expired"
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, int | float) or t < nbf - LEEWAY_S):
        return "the token is not valid yet"
    return None


def mapped_role(config: SsoConfig, claims: dict[str, Any]) -> str | None:
    """The ILS role for these claims: the first mapped value of the role claim, else the default."""
    if config.role_claim:
        value = claims.get(config.role_claim)
        values = value if isinstance(value, list) else [value] if value is not None else []
        for item in values:
            if isinstance(item, str) and item in config.role_map:
                return config.role_map[item]
    return config.default_role


def mapped_email(config: SsoConfig, claims: dict[str, Any]) -> str | None:
    value = claims.get(config.email_claim)
    return value if isinstance(value, str) else None
