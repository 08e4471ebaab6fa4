"""The audit chain: each row's hash covers the previous row's hash and its own canonical content."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ChainRow:
    """One stored audit row, as the verifier reads it."""

    n: int
    at: datetime
    actor_id: str | None
    action: str
    subject: str | None
    details: dict[str, Any]
    prev_hash: bytes
    hash: bytes


@dataclass
class ChainCheck:
    """A running verification of one tenant's chain, fed page by page in ``n`` order."""

    tenant_id: str
    checked: int = 0
    last_hash: bytes = b""
    broken_at: int | None = None
    reason: str | None = None

    def feed(self, rows: list[ChainRow]) -> bool:
        """Check the next rows; False (and ``broken_at``) at the first row that does not fit."""
        for row in rows:
            expected_n = self.checked + 1
            content = canonical(
                self.tenant_id, row.n, row.at, row.actor_id, row.action, row.subject, row.details
            )
            if row.n != expected_n:
                return self._broken(expected_n, f"row {expected_n} is missing or out of order")
            if row.prev_hash != self.last_hash:
                return self._broken(row.n, "the previous-hash link does not match")
            if row.hash != chain_hash(row.prev_hash, content):
                return self._broken(row.n, "the row's content does not match its hash")
            self.checked, self.last_hash = row.n, row.hash
        return True

    def finish(self, head_count: int, head_hash: bytes) -> bool:
        """After the last page: the chain must end where the tenant's head says it does."""
        if self.broken_at is not None:
            return False
        if self.checked != head_count or self.last_hash != head_hash:
            return self._broken(self.checked + 1, "rows at the end of the chain are missing")
        return True

    def _broken(self, n: int, reason: str) -> bool:
        self.broken_at, self.reason = n, reason
        return False
