"""TOTP (RFC 6238, via pyotp) and one-time recovery codes: pure checks, time passed in.

A code is matched against the current 30-second step and one step either side (clock drift);
the step must be later than the last one accepted, so a code is never accepted twice.
Recovery codes are 10 characters of Crockford-like base32 (50 bits), shown once and stored only
as SHA-256 hashes: with that much entropy a slow hash adds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import pyotp

STEP_S = 30
DRIFT_STEPS = 1
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"
RECOVERY_COUNT = 10
ISSUER = "ILS"


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime, last_step: int) -> int | None:
    """The time step ``code`` belongs to (within drift), if it is later than ``last_step``."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_S
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


def format_recovery_code(raw: bytes) -> str:
    """Ten characters from ten random bytes, shown as XXXXX-XXXXX."""
    chars = "".join(RECOVERY_ALPHABET[b % len(RECOVERY_ALPHABET)] for b in raw[:10])
    return f"{chars[:5]}-{chars[5:]}"


def normalise_recovery_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def recovery_hash(code: str) -> bytes:
    return hashlib.sha256(normalise_recovery_code(code).encode()).digest()


def looks_like_recovery_code(code: str) -> bool:
    norm = normalise_recovery_code(code)
    return len(norm) == 10 and all(c in RECOVERY_ALPHABET for c in norm)


def mfa_required(role: str, tenant_settings: dict[str, object]) -> bool:
    """Whether this role must use MFA in this tenant (admins always; others per tenant)."""
    security = tenant_settings.get("security")
    roles = security.get("mfa_required_roles", []) if isinstance(security, dict) else []
    return role == "admin" or role in roles
