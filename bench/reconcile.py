"""After a load run: what reached PostgreSQL, what the screens saw, and whether the two agree.

- events lost: LIMS events the floor sent (accepted, refused or given up) that are not in
  ``lims_webhook_events``; orders acknowledged with 201 that are not in ``orders``.
- duplicate transitions: an order's status or station change recorded twice in a tenant's log
  (the floor never revisits a station or a status, so any repeat is a duplicate).
- screens: seqs missing or received twice against the tenant's log head when the screens stopped
  (events written after that, e.g. a late station snapshot, are not expected), and whether each
  screen's folded view of the orders equals GET /api/orders for its tenant.
"""

from __future__ import annotations

from typing import Any

import httpx

from bench.lab_group import LabGroup, Tenant
from bench.traffic import Screen
from ils.db.database import Database
from ils.domain.access import Principal, Role, TenantKind
from ils.domain.event import Topic
from ils.domain.visibility import visible_topics

DUPLICATE_TRANSITIONS = """
SELECT coalesce(sum(n - 1), 0) AS duplicates FROM (
    SELECT count(*) AS n FROM events
    WHERE type IN ('order.status_changed', 'order.station_changed')
    GROUP BY tenant_id, order_id, type, payload->>'to', payload->>'to_station'
) per_change WHERE n > 1
"""
FOUND_EVENTS = (
    "SELECT count(*) FROM lims_webhook_events WHERE lab_id = $1 AND event_id = ANY($2::text[])"
)
FOUND_ORDERS = "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[])"
HEADS = "SELECT tenant_id::text AS tenant, max(seq) AS head FROM events GROUP BY tenant_id"
TOPICS = "SELECT seq, topic FROM events WHERE tenant_id = $1 ORDER BY seq"
PENDING_OUTBOX = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"


async def heads(db: Database) -> dict[str, int]:
    async with db.connection() as conn:
        return {r["tenant"]: int(r["head"]) for r in await conn.fetch(HEADS)}


async def database_side(
    db: Database, lab_id: str, sent_event_ids: list[str], placed: list[str]
) -> dict[str, Any]:
    async with db.connection() as conn:
        found = int(await conn.fetchval(FOUND_EVENTS, lab_id, sent_event_ids))
        orders = int(await conn.fetchval(FOUND_ORDERS, placed))
        duplicates = int(await conn.fetchval(DUPLICATE_TRANSITIONS))
        outbox = int(await conn.fetchval(PENDING_OUTBOX))
    return {
        "lims_events_lost": len(set(sent_event_ids)) - found,
        "orders_lost": len(set(placed)) - orders,
        "duplicate_transitions": duplicates,
        "outbox_unsent_at_end": outbox,
    }


async def visible_seqs(db: Database, tenant: str, kind: TenantKind) -> set[int]:
    """The seqs of the tenant's log an admin's screen receives (its role's topics)."""
    topics = visible_topics(Principal("bench", tenant, kind, Role.ADMIN))
    async with db.connection() as conn:
        return {r["seq"] for r in await conn.fetch(TOPICS, tenant) if Topic(r["topic"]) in topics}


async def orders_view(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """Every order the tenant sees, by id: (status, station, version), all pages."""
    view: dict[str, Any] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/api/orders", params=params, headers=tenant.auth)
        page.raise_for_status()
        body = page.json()
        for order in body["items"]:
            view[order["id"]] = (order["status"], order["station"], order["version"])
        cursor = body.get("next_cursor")
        if not cursor:
            return view


async def screens_side(
    client: httpx.AsyncClient,
    db: Database,
    group: LabGroup,
    screens: list[Screen],
    upto: dict[str, int],
) -> dict[str, Any]:
    """Each screen against its tenant's log up to ``upto`` (the heads when the screens stopped)."""
    truth = {t.tenant_id: await orders_view(client, t) for t in group.tenants}
    kinds = {t.tenant_id: TenantKind.PRACTICE for t in group.practices}
    kinds[group.lab.tenant_id] = TenantKind.LAB
    expected = {
        t: {s for s in await visible_seqs(db, t, kind) if s <= upto.get(t, 0)}
        for t, kind in kinds.items()
    }
    missing = duplicates = unequal = differing = 0
    examples: list[Any] = []
    for screen in screens:
        tenant = screen.tenant.tenant_id
        problems = screen.problems(expected[tenant])
        missing += problems["missing"]
        duplicates += problems["duplicates"]
        db_view = truth[tenant]
        diff = {
            k for k in db_view.keys() | screen.view.keys() if db_view.get(k) != screen.view.get(k)
        }
        unequal += bool(diff)
        differing += len(diff)
        examples += [(k, db_view.get(k), screen.view.get(k)) for k in sorted(diff)[:1]]
    return {
        "screens": len(screens),
        "screen_seqs_missing": missing,
        "screen_seqs_duplicated": duplicates,
        "screens_whose_view_differs_from_db": unequal,
        "order_rows_differing": differing,
        "all_views_equal_db": unequal == 0,
        "orders_in_db_views": {t: len(v) for t, v in truth.items()},
        "reconnects": sum(s.reconnects for s in screens),
        "resets": sum(s.resets for s in screens),
        "examples_db_vs_screen": examples[:3],
    }
