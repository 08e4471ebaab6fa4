"""The audit chain: each row's hash covers the previous row's hash and its own canonical content."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any


def canonical(
    tenant_id: str,
    n: int,
    at: datetime,
    actor_id: str | None,
    action: str,
    subject: str | None,
    details: dict[str, Any],
) -> bytes:
    """A byte string that is the same for the same row content, whatever the JSON key order."""
    doc = {
        "tenant_id": tenant_id,
        "n": n,
        "at": at.isoformat(),
        "actor_id": actor_id,
        "action": action,
        "subject": subject,
        "details": details,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()


def chain_hash(prev_hash: bytes, content: bytes) -> bytes:
    return hashlib.sha256(prev_hash + hashlib.sha256(content).digest()).digest()
