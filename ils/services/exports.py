"""Order exports for analytics; pseudonymised: patient references become keyed hashes.

The pseudonym is HMAC-SHA256 under a key derived from ``settings.secret_key`` and the tenant id,
so the same patient gets the same pseudonym within one tenant's exports (analysts can still count
repeat patients) while the reference cannot be recovered, nor linked across tenants, without the
key. Free-text clinical notes are dropped, as they may name the patient.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ils.domain.access import Principal
from ils.services.orders import Orders
from ils.settings import Settings

DROPPED = ("clinical_notes",)


def pseudonym_key(settings: Settings, tenant_id: str) -> bytes:
    secret = settings.secret_key.get_secret_value() or f"dev:{settings.data_dir.resolve()}"
    return hashlib.sha256(f"ils-pseudonym-v1:{tenant_id}:{secret}".encode()).digest()


def pseudonym(key: bytes, patient_ref: str) -> str:
    return "p_" + hmac.new(key, patient_ref.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonymise(order: dict[str, Any], key: bytes) -> dict[str, Any]:
    out = {k: v for k, v in order.items() if k not in DROPPED}
    out["patient_ref"] = pseudonym(key, str(order.get("patient_ref", "")))
    return out


async def export_orders(
    orders: Orders,
    settings: Settings,
    principal: Principal,
    *,
    pseudonymize: bool,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    page = await orders.list_orders(
        principal,
        status=None,
        station=None,
        practice_id=None,
        updated_since=None,
        cursor=cursor,
        limit=limit,
    )
    if pseudonymize:
        key = pseudonym_key(settings, principal.tenant_id)
        page = {**page, "items": [pseudonymise(o, key) for o in page["items"]]}
    return {**page, "pseudonymized": pseudonymize}
