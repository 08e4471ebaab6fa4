"""LIMS webhook signatures: ``ILS-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The scheme is the one Stripe popularised: a timestamp bound into the MAC defeats replays older
than the tolerance, and several ``v1=`` entries let a LIMS sign with both the old and the new
secret while a secret is being rotated. The standard library's ``hmac`` is all it needs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from ils.errors import IlsError

SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class BadSignature(IlsError):
    status = 401
    code = "bad-signature"
    title = "The webhook signature is missing or does not match"


class StaleSignature(IlsError):
    status = 401
    code = "stale-signature"
    title = "The webhook signature timestamp is outside the accepted window"


def _mac(secret: bytes, body: bytes, t: int) -> str:
    return hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, t: int) -> str:
    """The ``ILS-Signature`` header value for ``body`` signed at unix time ``t``."""
    return f"t={t},{SCHEME}={_mac(secret, body, t)}"


def sign_rotating(secrets: Sequence[bytes], body: bytes, t: int) -> str:
    """A header carrying one ``v1=`` entry per secret (used while a secret is rotated)."""
    entries = ",".join(f"{SCHEME}={_mac(s, body, t)}" for s in secrets)
    return f"t={t},{entries}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not value:
            raise BadSignature("malformed signature header")
        if key == "t":
            if timestamp is not None or not value.isdigit():
                raise BadSignature("malformed signature timestamp")
            timestamp = int(value)
        elif key == SCHEME:
            macs.append(value.lower())
    if timestamp is None or not macs:
        raise BadSignature("signature header needs t= and at least one v1= entry")
    return timestamp, macs


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[bytes],
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise ``BadSignature`` or ``StaleSignature`` unless ``header`` signs ``body``.

    The MAC is checked before the timestamp so that an attacker cannot learn anything about the
    window from an unsigned request; every comparison is constant-time.
    """
    if not header:
        raise BadSignature("missing signature header")
    if not secrets:
        raise BadSignature("no webhook secret is configured")
    t, macs = _parse(header)
    expected = [_mac(secret, body, t) for secret in secrets]
    matched = False
    for candidate in macs:
        for mac in expected:
            # Check every pair (no early exit) so timing does not reveal which entry matched.
            matched |= hmac.compare_digest(candidate.encode(), mac.encode())
    if not matched:
        raise BadSignature("signature does not match")
    if abs(now - t) > tolerance_s:
        raise StaleSignature(f"signature timestamp is {abs(now - t)} s away from now")
