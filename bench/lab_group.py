"""The system under load for ``bench.load`` and ``bench.chaos``: ILS on a local Ray, one lab group.

``LabGroup.up`` starts what ``ils up`` starts (PostgreSQL and Redis, embedded unless
``ILS_DATABASE_URL`` / ``ILS_REDIS_URL`` are set; a scratch database, migrated; a local Ray; the
Serve applications of serve_config.yaml; the background actor with the LIMS relay), creates one
lab with several practices linked to it, and runs the lab simulator as the lab's LIMS. The
simulator runs at speed 0: it takes jobs from the relay (and plays outages) while
``bench.traffic.Floor`` sends the jobs' station events at a steady rate, so the event rate does not
depend on the simulated lab's capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scratch import (
    create_database,
    drop_database,
    drop_prefix,
    free_port,
    scratch_settings,
)
from ils.db.database import Database
from ils.domain.access import TenantKind
from ils.embedded import EmbeddedServices, ensure_services
from ils.services.identity import Identity
from ils.services.lims import store_lims
from ils.services.ports import utc_now
from ils.settings import Settings
from ils.sim.lims import LimsConfig
from ils.sim.serve import LimsHandle, serve_lims

PASSWORD = "Bench-Load-Phrase-2026!"


@dataclass
class Tenant:
    tenant_id: str
    email: str
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class LabGroup:
    settings: Settings
    services: EmbeddedServices
    url: str
    lab: Tenant
    practices: list[Tenant]
    webhook_secret: str
    scratch: str
    lims: LimsHandle | None = None
    relay: Any = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def tenants(self) -> list[Tenant]:
        return [self.lab, *self.practices]

    @property
    def lims_url(self) -> str:
        assert self.lims is not None
        return self.lims.url


async def make_tenants(
    settings: Settings, practices: int, label: str = "load", password: str = PASSWORD
) -> tuple[Tenant, list[Tenant], str]:
    """A lab and ``practices`` practices linked to it, made the way ``ils tenant create`` and
    ``ils tenant link`` make them, their admins' emails naming ``label``; and the lab's webhook
    secret."""
    db = await Database.connect(settings, min_size=1, max_size=2)
    try:
        identity = Identity(db, settings)
        now = utc_now()
        lab_email = f"admin@{label}-lab.example"
        lab = await identity.create_tenant(
            TenantKind.LAB, f"{label.title()} Lab", lab_email, password, now
        )
        out = []
        for k in range(practices):
            email = f"admin@{label}-practice-{k}.example"
            made = await identity.create_tenant(
                TenantKind.PRACTICE, f"{label.title()} Practice {k}", email, password, now
            )
            await identity.link(lab["tenant_id"], made["tenant_id"], now)
            out.append(Tenant(made["tenant_id"], email))
    finally:
        await db.close()
    return Tenant(lab["tenant_id"], lab_email), out, lab["webhook_secret"]


def start_cluster(settings: Settings, port: int) -> Any:
    """A fresh local Ray (never one found on the machine), Serve deployed, the relay started."""
    import ray

    from actors.background import start_background
    from actors.deploy import deploy
    from actors.tuning import apply_serve_tuning

    apply_serve_tuning(settings.serve_ingress, haproxy_metrics_port=free_port())
    ray.init(
        address="local",
        num_cpus=2,
        namespace="ils",
        include_dashboard=False,
        log_to_driver=False,
    )
    deploy(settings, "127.0.0.1", port)
    return start_background(settings)


def stop_cluster(relay: Any) -> None:
    import ray
    from ray import serve

    from actors.background import stop_background

    if relay is not None:
        stop_background(relay)
    with contextlib.suppress(Exception):
        serve.shutdown()
    ray.shutdown()


async def _login(client: Any, tenant: Tenant) -> None:
    made = await client.post("/api/auth/login", json={"email": tenant.email, "password": PASSWORD})
    made.raise_for_status()
    tenant.token = made.json()["access_token"]


async def start_lims(group: LabGroup, seed: int) -> None:
    """The simulator as the lab's LIMS (speed 0: intake and outages only)."""
    config = LimsConfig(
        ils_base_url=group.url,
        lab_tenant_id=group.lab.tenant_id,
        webhook_secret=group.webhook_secret,
        api_key=secrets.token_urlsafe(24),
        port=0,
        speed=0.0,
        seed=seed,
        telemetry=False,
    )
    group.lims = await serve_lims(config)
    db = await Database.connect(group.settings, min_size=1, max_size=1)
    try:
        await store_lims(
            db,
            group.settings,
            group.lab.tenant_id,
            group.lims.url,
            config.api_key,
            None,
            utc_now(),
        )
    finally:
        await db.close()


async def up(practices: int, seed: int, data_dir: Path | None = None) -> LabGroup:
    """Everything but the LIMS (which needs the caller's event loop: ``start_lims``)."""
    base = Settings(
        data_dir=data_dir or Path(tempfile.mkdtemp(prefix="ils-load-")),
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        db_pool_max=8,
    )
    settings, services = ensure_services(base)
    notes: dict[str, Any] = {}
    if not base.database_url:  # embedded, started here: bench.chaos may restart them
        notes["pg_dir"] = (base.data_dir / "pg").resolve()
    if not base.redis_url:
        notes["redis"] = settings.redis_url
    name = f"ils_load_{secrets.token_hex(4)}"
    await create_database(settings, name)
    scratch = scratch_settings(settings, name, "load")
    lab, members, secret = await make_tenants(scratch, practices)
    port = free_port()
    relay = await asyncio.to_thread(start_cluster, scratch, port)
    group = LabGroup(scratch, services, f"http://127.0.0.1:{port}", lab, members, secret, name)
    group.relay, group.notes = relay, notes
    return group


async def login_all(group: LabGroup, client: Any) -> None:
    for tenant in group.tenants:
        await _login(client, tenant)


async def down(group: LabGroup) -> None:
    if group.lims is not None:
        await group.lims.stop()
    await asyncio.to_thread(stop_cluster, group.relay)
    with contextlib.suppress(Exception):  # a server restarted by chaos may refuse the drop
        await drop_database(group.settings, group.scratch)
    with contextlib.suppress(Exception):
        await drop_prefix(group.settings)
    group.services.stop()
