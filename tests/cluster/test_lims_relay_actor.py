"""The ``LimsRelay`` actor on a real local Ray: killed mid-stream, it restarts and nothing is
sent twice (the simulated LIMS on loopback counts every job it was given)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from ils.domain.access import Principal, Role, TenantKind
from ils.domain.order import OrderDraft
from ils.runtime import Runtime
from ils.services.lims import store_lims
from ils.services.ports import utc_now
from ils.settings import Settings
from tests.integration.conftest import PASSWORD, order_body
from tests.integration.lims.outbound_support import API_KEY, simulated_lims


@pytest.fixture
async def runtime(cluster_settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(cluster_settings, run_migrations=False)
    try:
        yield rt
    finally:
        await rt.close()


async def _place(runtime: Runtime, practice: Principal, lab_id: str, n: int) -> list[str]:
    body = order_body(lab_id, due_date=date(2026, 12, 10).isoformat())
    ids = []
    for _ in range(n):
        _, view = await runtime.orders.create(practice, OrderDraft.model_validate(body), utc_now())
        ids.append(view["id"])
    return ids


async def _sent(runtime: Runtime, lab_id: str) -> int:
    async with runtime.db.connection() as conn:
        value = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE lab_id = $1 AND lims_job_id IS NOT NULL", lab_id
        )
    return int(value)


async def _until_sent(runtime: Runtime, lab_id: str, n: int, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s / 0.25)):
        if await _sent(runtime, lab_id) >= n:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"only {await _sent(runtime, lab_id)} of {n} orders reached the LIMS")


async def _lab_and_practice(runtime: Runtime, name: str) -> tuple[str, Principal]:
    """A lab and a linked practice named after ``name``; the lab's id and the practice's admin."""
    now = utc_now()
    lab = await runtime.identity.create_tenant(
        TenantKind.LAB, f"{name} lab", f"admin@{name}-lab.example", PASSWORD, now
    )
    made = await runtime.identity.create_tenant(
        TenantKind.PRACTICE, f"{name} practice", f"admin@{name}-practice.example", PASSWORD, now
    )
    await runtime.identity.link(lab["tenant_id"], made["tenant_id"], now)
    practice = Principal(made["admin_user_id"], made["tenant_id"], TenantKind.PRACTICE, Role.ADMIN)
    return lab["tenant_id"], practice


async def test_a_killed_relay_restarts_and_sends_nothing_twice(
    ray_cluster: None, cluster_settings: Settings, runtime: Runtime
) -> None:
    import ray

    from actors.relay import start_relay

    now = utc_now()
    lab_id, practice = await _lab_and_practice(runtime, "relay")
    handle: Any = None
    async with simulated_lims(lab_id) as lims:
        await store_lims(runtime.db, cluster_settings, lab_id, lims.url, API_KEY, None, now)
        try:
            handle = start_relay(cluster_settings)
            first = await _place(runtime, practice, lab_id, 20)
            await _until_sent(runtime, lab_id, len(first))
            ray.kill(handle, no_restart=False)  # Ray restarts it and re-runs its loop
            second = await _place(runtime, practice, lab_id, 20)
            await _until_sent(runtime, lab_id, len(first) + len(second))
            stats = lims.simulator.stats()
        finally:
            if handle is not None:
                ray.kill(handle, no_restart=True)
    assert stats["jobs_accepted"] == 40 and stats["jobs_rejected"] == 0
    assert len({job.order_id for job in lims.simulator.model.jobs.values()}) == 40


async def test_the_api_application_keeps_one_relay_per_database_running(
    ray_cluster: None, http_port: int, cluster_settings: Settings, runtime: Runtime
) -> None:
    """A plain deploy of the api app (no ``ils up``) drains the outbox: orders reach the LIMS."""
    import ray

    from actors.deploy import deploy
    from actors.relay import NAMESPACE, relay_name, stop_relay

    settings = cluster_settings.model_copy(update={"relay_with_api": True})
    now = utc_now()
    lab_id, practice = await _lab_and_practice(runtime, "api-relay")
    async with simulated_lims(lab_id) as lims:
        await store_lims(runtime.db, settings, lab_id, lims.url, API_KEY, None, now)
        await asyncio.to_thread(deploy, settings, "127.0.0.1", http_port)
        handle = ray.get_actor(relay_name(settings), namespace=NAMESPACE)
        try:
            placed = await _place(runtime, practice, lab_id, 5)
            await _until_sent(runtime, lab_id, len(placed))
        finally:
            await asyncio.to_thread(stop_relay, handle)
        assert lims.simulator.stats()["jobs_accepted"] == 5
