"""``Background``: the Ray actor that does a database's work no request waits for.

Two loops, each deciding nothing itself (every decision is in the services, tested without Ray):
the LIMS relay (``ils.services.relay.Relay``) drains the transactional outbox to the labs'
LIMSes, and the upkeep (``ils.services.housekeeping.Housekeeping``) keeps each lab's figures
current with its log so that metrics reads stay cheap.

``run`` works until the actor dies; it is called by ``start_background`` and, because the actor
restarts (``max_restarts=-1``) and its tasks are retried (``max_task_retries=-1``), Ray calls it
again on the restarted actor. A restart sends nothing twice: the outbox rows are the truth (a
claimed row is leased in PostgreSQL, a sent row is never claimed again) and the LIMS is given
``Idempotency-Key: <order id>``; a figures catch-up is one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

import ray

from actors.gateways import gateways_factory
from actors.naming import named_actor
from ils.runtime import Runtime
from ils.settings import Settings

NAME = "background"


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class Background:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = Settings(**settings)
        self.runtime: Runtime | None = None
        self.loops: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()

    async def _running(self) -> list[asyncio.Task[None]]:
        if self.runtime is None:
            self.runtime = await Runtime.open(
                self.settings, gateways_factory(self.settings), run_migrations=False
            )
        if not self.loops or any(loop.done() for loop in self.loops):
            for loop in self.loops:
                loop.cancel()
            self.loops = [
                asyncio.create_task(self.runtime.relay.run(self.stopping)),
                asyncio.create_task(self.runtime.housekeeping.run(self.stopping)),
            ]
        return self.loops

    async def run(self) -> None:
        """Work until stopped (returns only after ``stop``)."""
        await asyncio.shield(asyncio.gather(*await self._running()))

    async def status(self) -> dict[str, Any]:
        await self._running()
        assert self.runtime is not None
        return {
            "relay": dict(self.runtime.relay.stats.__dict__),
            "upkeep": dict(self.runtime.housekeeping.stats.__dict__),
        }

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self.loops, return_exceptions=True)
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None


def settings_args(settings: Settings) -> dict[str, Any]:
    args = settings.model_dump(mode="json")
    args["secret_key"] = settings.secret_key.get_secret_value()
    return args


def background_name(settings: Settings) -> str:
    """One actor per database: deployments sharing a Ray cluster never drain each other's outbox."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return f"{NAME}-{digest}"


def start_background(settings: Settings) -> Any:
    """Create (or find) the database's background actor and start its loops; returns the handle.

    Detached, so it outlives whichever process asked for it first (``ils up`` or an api replica
    that Serve replaced); asking again finds the same actor and its running loops.
    """
    handle = named_actor(Background, background_name(settings), settings_args(settings))
    handle.run.remote()
    return handle


def stop_background(handle: Any, timeout_s: float = 10.0) -> None:
    """Let the loops finish their round and close their connections (bounded), then end the actor.

    It is detached, so it is killed explicitly: a later ``ils up`` on the same cluster starts a
    fresh one instead of finding these stopped loops.
    """
    with contextlib.suppress(Exception):  # an actor already gone or slow is ended below
        ray.get(handle.stop.remote(), timeout=timeout_s)
    with contextlib.suppress(Exception):
        ray.kill(handle, no_restart=True)
