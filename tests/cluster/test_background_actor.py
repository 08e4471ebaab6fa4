"""The ``Background`` actor on a real local Ray: killed mid-stream, its relay restarts and nothing
is sent twice (the simulated LIMS on loopback counts every job it was given); started by a plain
deploy of the api app, it drains the outbox and keeps the lab's figures current."""

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

    from actors.background import start_background

    now = utc_now()
    lab_id, practice = await _lab_and_practice(runtime, "relay")
    handle: Any = None
    async with simulated_lims(lab_id) as lims:
        await store_lims(runtime.db, cluster_settings, lab_id, lims.url, API_KEY, None, now)
        try:
            handle = start_background(cluster_settings)
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


async def test_the_api_application_keeps_the_background_work_of_its_database_running(
    ray_cluster: None, http_port: int, cluster_settings: Settings, runtime: Runtime
) -> None:
    """A plain deploy of the api app (no ``ils up``): orders reach the LIMS, figures keep up."""
    import ray

    from actors.background import background_name, stop_background
    from actors.deploy import deploy
    from actors.naming import NAMESPACE

    update = {"background_with_api": True, "upkeep_every_s": 0.5}
    settings = cluster_settings.model_copy(update=update)
    now = utc_now()
    lab_id, practice = await _lab_and_practice(runtime, "api-relay")
    async with simulated_lims(lab_id) as lims:
        await store_lims(runtime.db, settings, lab_id, lims.url, API_KEY, None, now)
        await asyncio.to_thread(deploy, settings, "127.0.0.1", http_port)
        handle = ray.get_actor(background_name(settings), namespace=NAMESPACE)
        try:
            placed = await _place(runtime, practice, lab_id, 5)
            await _until_sent(runtime, lab_id, len(placed))
            await _until_figures_current(runtime, lab_id)
        finally:
            await asyncio.to_thread(stop_background, handle)
        assert lims.simulator.stats()["jobs_accepted"] == 5


async def _until_figures_current(runtime: Runtime, lab_id: str, timeout_s: float = 30) -> None:
    """The upkeep brings the lab's figures to its log head with no metrics read asking for it."""
    query = (
        "SELECT h.last_seq, f.seq FROM tenant_heads h"
        " LEFT JOIN lab_figure_heads f ON f.lab_id = h.tenant_id WHERE h.tenant_id = $1"
    )
    for _ in range(int(timeout_s / 0.25)):
        async with runtime.db.connection() as conn:
            head, seq = await conn.fetchrow(query, lab_id)
        if seq is not None and seq >= head:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"figures at {seq}, the lab's log at {head}")
