"""Tenants, their links and their heads (event sequence, counters, audit chain head)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ils.db.database import Conn

INSERT_TENANT = """
INSERT INTO tenants (id, kind, name, settings, webhook_secret, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""
INSERT_HEAD = "INSERT INTO tenant_heads (tenant_id) VALUES ($1)"
SELECT_TENANT = """
SELECT id, kind, name, settings, webhook_secret, webhook_secret_previous, created_at
FROM tenants WHERE id = $1
"""
INSERT_LINK = """
INSERT INTO tenant_links (lab_id, practice_id, created_at) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
"""
SELECT_LINK = "SELECT 1 FROM tenant_links WHERE lab_id = $1 AND practice_id = $2"
LOCK_HEADS = """
SELECT tenant_id, audit_count, audit_last_hash FROM tenant_heads
WHERE tenant_id = ANY($1::uuid[]) ORDER BY tenant_id FOR UPDATE
"""
NEXT_ORDER_NUMBER = """
UPDATE tenant_heads SET last_order_no = last_order_no + 1 WHERE tenant_id = $1
RETURNING last_order_no
"""
UPDATE_SECRETS = """
UPDATE tenants SET webhook_secret_previous = webhook_secret, webhook_secret = $2 WHERE id = $1
"""
SELECT_WEBHOOK_SECRETS = """
SELECT id, webhook_secret, webhook_secret_previous FROM tenants
WHERE webhook_secret IS NOT NULL OR webhook_secret_previous IS NOT NULL
ORDER BY id
"""
REPLACE_WEBHOOK_SECRETS = """
UPDATE tenants SET webhook_secret = $2, webhook_secret_previous = $3
WHERE id = $1
  AND webhook_secret IS NOT DISTINCT FROM $4::text
  AND webhook_secret_previous IS NOT DISTINCT FROM $5::text
"""


@dataclass(frozen=True)
class TenantRow:
    id: str
    kind: str
    name: str
    settings: dict[str, Any]
    webhook_secret: str | None
    webhook_secret_previous: str | None
    created_at: datetime


async def insert(
    conn: Conn,
    tenant_id: str,
    kind: str,
    name: str,
    settings: dict[str, Any],
    webhook_secret: str | None,
    now: datetime,
) -> None:
    await conn.execute(INSERT_TENANT, tenant_id, kind, name, settings, webhook_secret, now)
    await conn.execute(INSERT_HEAD, tenant_id)


async def get(conn: Conn, tenant_id: str) -> TenantRow | None:
    row = await conn.fetchrow(SELECT_TENANT, tenant_id)
    if row is None:
        return None
    return TenantRow(
        id=str(row["id"]),
        kind=row["kind"],
        name=row["name"],
        settings=row["settings"],
        webhook_secret=row["webhook_secret"],
        webhook_secret_previous=row["webhook_secret_previous"],
        created_at=row["created_at"],
    )


async def link(conn: Conn, lab_id: str, practice_id: str, now: datetime) -> None:
    await conn.execute(INSERT_LINK, lab_id, practice_id, now)


async def linked(conn: Conn, lab_id: str, practice_id: str) -> bool:
    return await conn.fetchval(SELECT_LINK, lab_id, practice_id) is not None


@dataclass
class Head:
    """A locked tenant head's audit chain position, as the transaction holding the lock sees it.

    ``ils.db.audit.append`` writes the next row from it in one statement and moves it on.
    """

    tenant_id: str
    audit_count: int
    audit_last_hash: bytes


async def lock_heads(conn: Conn, tenant_ids: list[str]) -> dict[str, Head]:
    """Lock the tenants' heads in one global order (by id), so two writers never deadlock."""
    rows = await conn.fetch(LOCK_HEADS, sorted(set(tenant_ids)))
    return {
        str(r["tenant_id"]): Head(
            str(r["tenant_id"]), int(r["audit_count"]), bytes(r["audit_last_hash"])
        )
        for r in rows
    }


async def next_order_number(conn: Conn, tenant_id: str) -> int:
    value = await conn.fetchval(NEXT_ORDER_NUMBER, tenant_id)
    return int(value)


async def rotate_webhook_secret(conn: Conn, tenant_id: str, secret: str) -> None:
    await conn.execute(UPDATE_SECRETS, tenant_id, secret)


@dataclass(frozen=True)
class StoredSecrets:
    """A tenant's webhook secrets as stored (sealed, or plain text from before sealing)."""

    tenant_id: str
    webhook_secret: str | None
    webhook_secret_previous: str | None


async def webhook_secrets(conn: Conn) -> list[StoredSecrets]:
    rows = await conn.fetch(SELECT_WEBHOOK_SECRETS)
    return [
        StoredSecrets(str(r["id"]), r["webhook_secret"], r["webhook_secret_previous"]) for r in rows
    ]


async def replace_webhook_secrets(
    conn: Conn, read: StoredSecrets, current: str | None, previous: str | None
) -> int:
    """Store re-sealed secrets if the row still holds what was ``read``; 1 if it changed."""
    status = await conn.execute(
        REPLACE_WEBHOOK_SECRETS,
        read.tenant_id,
        current,
        previous,
        read.webhook_secret,
        read.webhook_secret_previous,
    )
    return int(str(status).rsplit(" ", 1)[-1])
