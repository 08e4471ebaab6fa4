"""``LimsRelay``: the Ray actor that drains the transactional outbox to the labs' LIMSes.

An address and a lifetime only: every decision is in ``ils.services.relay.Relay`` (tested without
Ray). ``run`` drains until the actor dies; it is called once by ``start_relay`` and, because the
actor restarts (``max_restarts=-1``) and its tasks are retried (``max_task_retries=-1``), Ray calls
it again on the restarted actor. A restart sends nothing twice: the outbox rows are the truth
(a claimed row is leased in PostgreSQL, a sent row is never claimed again) and the LIMS is given
``Idempotency-Key: <order id>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

import ray

from actors.gateways import gateways_factory
from ils.runtime import Runtime
from ils.settings import Settings

NAMESPACE = "ils"
NAME = "lims-relay"


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class LimsRelay:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = Settings(**settings)
        self.runtime: Runtime | None = None
        self.loop: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    async def _running(self) -> asyncio.Task[None]:
        if self.runtime is None:
            self.runtime = await Runtime.open(
                self.settings, gateways_factory(self.settings), run_migrations=False
            )
        if self.loop is None or self.loop.done():
            self.loop = asyncio.create_task(self.runtime.relay.run(self.stopping))
        return self.loop

    async def run(self) -> None:
        """Drain until stopped (returns only after ``stop``)."""
        await asyncio.shield(await self._running())

    async def status(self) -> dict[str, Any]:
        await self._running()
        assert self.runtime is not None
        return dict(self.runtime.relay.stats.__dict__)

    async def stop(self) -> None:
        self.stopping.set()
        if self.loop is not None:
            await self.loop
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None


def settings_args(settings: Settings) -> dict[str, Any]:
    args = settings.model_dump(mode="json")
    args["secret_key"] = settings.secret_key.get_secret_value()
    return args


def relay_name(settings: Settings) -> str:
    """One relay per database: deployments sharing a Ray cluster never drain each other's outbox."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return f"{NAME}-{digest}"


def start_relay(settings: Settings) -> Any:
    """Create (or find) the database's relay and start its drain loop; returns the handle.

    Detached, so it outlives whichever process asked for it first (``ils up`` or an api replica
    that Serve replaced); asking again finds the same actor and its running loop.
    """
    handle = LimsRelay.options(  # type: ignore[attr-defined]
        name=relay_name(settings), namespace=NAMESPACE, get_if_exists=True, lifetime="detached"
    ).remote(settings_args(settings))
    handle.run.remote()
    return handle


def stop_relay(handle: Any, timeout_s: float = 10.0) -> None:
    """Let the relay finish its round and close its connections (bounded), then end the actor.

    It is detached, so it is killed explicitly: a later ``ils up`` on the same cluster starts a
    fresh one instead of finding this stopped loop.
    """
    with contextlib.suppress(Exception):  # a relay already gone or slow is ended below
        ray.get(handle.stop.remote(), timeout=timeout_s)
    with contextlib.suppress(Exception):
        ray.kill(handle, no_restart=True)
