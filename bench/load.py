"""Load benchmark: a 1,000,000-orders/day lab group on one machine, end to end over Ray Serve.

ILS runs as ``ils up`` runs it (local Ray, the Serve apps of serve_config.yaml, the LIMS relay
actor, rooms and station actors), against a scratch database. One lab and eight practices:
- orders: about 12 a second (Poisson) through POST /api/orders from the practices;
- station events: about 150 a second as signed LIMS webhooks (``bench.traffic.Floor``: 13 events
  for every job the simulated LIMS accepted from the relay, batched by the simulator's sender);
- telemetry: 200 readings a second to POST /api/telemetry;
- screens: 200 WebSocket clients over the tenants, resuming with ``since``.
Propagation is measured on every screen for every event: arrival wall time minus the event's
``occurred_at`` (stamped by ILS when it handled the request, before the commit). CPU and memory
are sampled every 10 s; the worker memory slope says whether memory stays flat. At the end the
run is reconciled with PostgreSQL (``bench.reconcile``).

Run: ``python -m bench.load [--quick | --minutes N] [--drain-limit S]`` (or ``ils bench load``);
last line is JSON.
Goal: propagation p99 < 100 ms and 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import numpy as np

from bench import lab_group, reconcile
from bench.lab_group import LabGroup
from bench.resources import Sampler, processes_now, work_by_kind
from bench.traffic import Floor, FloorConfig, Practices, Screen, Telemetry, percentiles
from ils.db.database import Database
from ils.settings import Settings

SEED = 20261125
PRACTICES = 8
ORDERS_PER_S = 12.0  # 1,000,000 a day is 11.6 a second
READINGS_PER_S = 200
MACHINES = 20
SOCKETS = 200
#: After the run, the floor delivers its backlog of webhooks for at most this long (see Floor).
DRAIN_LIMIT_S: float = FloorConfig.drain_limit_s

Disturbance = Callable[["LoadRun", asyncio.Event], Awaitable[None]]


class LoadRun:
    """The generators of one run over a ``LabGroup``, their figures and the reconciliation."""

    def __init__(
        self,
        group: LabGroup,
        client: httpx.AsyncClient,
        db: Database,
        sockets: int,
        drain_limit_s: float = DRAIN_LIMIT_S,
    ) -> None:
        self.group, self.client, self.db = group, client, db
        rng = np.random.default_rng(SEED)
        self.practices = Practices(group, ORDERS_PER_S, rng)
        assert group.lims is not None
        floor = FloorConfig(seed=SEED + 1, drain_limit_s=drain_limit_s)
        self.floor = Floor(group.lims.simulator, client, floor)
        self.telemetry = Telemetry(group, READINGS_PER_S, MACHINES, SEED + 2)
        ws = group.url.replace("http://", "ws://") + "/ws"
        tenants = group.tenants
        self.screens = [Screen(ws, tenants[k % len(tenants)]) for k in range(sockets)]
        self.sampler = Sampler()
        self.seconds = self.drain_s = self.settle_s = 0.0
        self.settled = False
        #: Cores each kind of process kept busy during the run (not the drain), machine-wide.
        self.cpu: dict[str, float] = {}
        #: Each tenant's log head when the screens were last checked, just before they stop:
        #: what a screen must have received (later events, such as a station snapshot written
        #: after the stop, are not the screens' to see).
        self.heads_at_stop: dict[str, int] = {}

    async def drive(self, seconds: float, disturb: Disturbance | None = None) -> None:
        await self.telemetry.register(self.client)
        watching, stop = asyncio.Event(), asyncio.Event()
        screens = [asyncio.create_task(s.run(watching)) for s in self.screens]
        await asyncio.sleep(3.0)  # sockets up before the first order
        jobs: list[Awaitable[None]] = [
            self.practices.run(self.client, stop),
            self.floor.run(stop),
            self.telemetry.run(self.client, stop),
            self.sampler.run(stop),
            self._keep_logged_in(stop),
        ]
        if disturb is not None:
            jobs.append(disturb(self, stop))
        began, before = time.monotonic(), processes_now()
        running = asyncio.gather(*jobs)
        await asyncio.sleep(seconds)
        self.cpu = work_by_kind(before, time.monotonic() - began)["cpu_cores_by_process"]
        stop.set()
        await running  # requests in flight finish; the floor delivers what it queued
        self.seconds = time.monotonic() - began
        self.drain_s = self.seconds - seconds
        settle = time.monotonic()
        self.settled = await self._settle()
        self.settle_s = time.monotonic() - settle
        watching.set()
        await asyncio.gather(*screens)

    async def _keep_logged_in(self, stop: asyncio.Event) -> None:
        """Log every tenant in again at half the access-token lifetime, as a client keeps its
        session: a run longer than a token (15 minutes) would otherwise end in 401s."""
        every = self.group.settings.access_token_ttl_s / 2.0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
                return
            await lab_group.login_all(self.group, self.client)

    async def _settle(self, timeout_s: float = 120.0) -> bool:
        """Let every screen reach its tenant's log head; False if some did not in ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            log = self.heads_at_stop = await reconcile.heads(self.db)
            if all(s.last_seq >= log.get(s.tenant.tenant_id, 0) for s in self.screens):
                return True
            await asyncio.sleep(1.0)
        return False

    async def figures(self) -> dict[str, Any]:
        latency = [x for s in self.screens for x in s.latency_ms]
        floor = self.floor.stats()
        db_side = await reconcile.database_side(
            self.db, self.group.lab.tenant_id, self.floor.sent_ids(), self.practices.placed
        )
        # the run and its drain can outlast an access token (15 min): read the truth with fresh ones
        await lab_group.login_all(self.group, self.client)
        screens = await reconcile.screens_side(
            self.client, self.db, self.group, self.screens, self.heads_at_stop
        )
        errors = (
            sum(self.practices.tally.errors.values())
            + sum(self.telemetry.tally.errors.values())
            + floor["events_rejected"]
            + floor["events_dropped"]
        )
        return {
            "seconds": round(self.seconds, 1),
            "drain_after_stop_s": round(self.drain_s, 1),
            "screens_settle_s": round(self.settle_s, 1),
            "screens_reached_log_head": self.settled,
            "propagation_ms": {**percentiles(latency, ""), "samples": len(latency),
                               "max": round(max(latency), 1) if latency else None},
            "errors": errors,
            # the floor's backlog when the drain ended: events the LIMS never got to send
            "lims_events_not_delivered": floor["events_abandoned"],
            "achieved": {
                "orders_per_s": round(self.practices.tally.ok / self.seconds, 2),
                "station_events_per_s": round(floor["events_sent"] / self.seconds, 1),
                "telemetry_readings_per_s": round(
                    self.telemetry.tally.ok * READINGS_PER_S / self.seconds, 1
                ),
                "sockets": len(self.screens),
            },
            "orders": self.practices.tally.as_dict(),
            "webhooks": floor,
            "telemetry": self.telemetry.tally.as_dict(),
            "reconciliation": {**db_side, **screens},
            "resources": self.sampler.summary(),
            "cpu_cores_by_process_during_run": self.cpu,
            # a station holds an hour of LIMS time of jobs done, so it grows for the first hour
            "station_jobs_and_services_held": await _stations_held(self.group),
            # a room's buffer grows to its capacity, then stays: the rooms' memory while it fills
            "room_buffers": await _room_buffers(self.group),
        }  # fmt: skip


async def _room_buffers(group: LabGroup) -> dict[str, dict[str, int]]:
    """Each tenant room's replay buffer at the end of the run: frames held and capacity."""
    import ray

    from actors.naming import NAMESPACE
    from actors.room import room_name

    tenants = [group.lab, *group.practices]
    fills: list[dict[str, int]] = await asyncio.gather(
        *(ray.get_actor(room_name(t.tenant_id), namespace=NAMESPACE).buffered.remote()
          for t in tenants)
    )  # fmt: skip
    return {t.email: dict(f) for t, f in zip(tenants, fills, strict=True)}


async def _stations_held(group: LabGroup) -> dict[str, int]:
    """What each of the lab's station actors holds at the end of the run (``StationModel.held``)."""
    import ray

    from actors.naming import NAMESPACE
    from actors.station import actor_name
    from ils.domain.station import LINE

    lab = group.lab.tenant_id
    held: list[int] = await asyncio.gather(
        *(ray.get_actor(actor_name(lab, s), namespace=NAMESPACE).held.remote() for s in LINE)
    )
    return {str(s): n for s, n in zip(LINE, held, strict=True)}


async def run(
    seconds: float,
    sockets: int,
    disturbance: Callable[[LabGroup], Disturbance] | None = None,
    drain_limit_s: float = DRAIN_LIMIT_S,
) -> dict[str, Any]:
    """Bring the lab group up, drive it for ``seconds`` (disturbed by what ``disturbance``
    makes for the group, if given), reconcile, tear everything down."""
    group = await lab_group.up(PRACTICES, SEED)
    try:
        await lab_group.start_lims(group, SEED)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=group.url, timeout=30, limits=limits) as client:
            await lab_group.login_all(group, client)
            db = await Database.connect(group.settings, min_size=1, max_size=2)
            try:
                load = LoadRun(group, client, db, sockets, drain_limit_s)
                await load.drive(seconds, disturbance(group) if disturbance else None)
                return await load.figures()
            finally:
                await db.close()
    finally:
        await lab_group.down(group)


def conditions(quick: bool, sockets: int) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "practices": PRACTICES,
        "orders_per_s": ORDERS_PER_S,
        "station_events": "13 per accepted job over 12 s, signed, batches of up to 25, "
        "one request at a time; backlog delivered for at most --drain-limit s after the run",
        "telemetry_readings_per_s": READINGS_PER_S,
        "sockets": sockets,
        "ray": "local, num_cpus=2, Serve apps of serve_config.yaml, tuning of actors/tuning.py",
        "ingress": Settings().serve_ingress,
        "generators": "in the bench process, same machine",
        "database": "scratch database on ILS_DATABASE_URL or the embedded PostgreSQL",
        "seed": SEED,
        "quick": quick,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run")
    parser.add_argument("--sockets", type=int, default=SOCKETS)
    parser.add_argument(
        "--drain-limit", type=float, default=DRAIN_LIMIT_S, help="seconds to deliver the backlog"
    )
    args = parser.parse_args(argv)
    minutes = 1.0 if args.quick else args.minutes
    figures = asyncio.run(run(minutes * 60.0, args.sockets, drain_limit_s=args.drain_limit))
    goal = {"propagation_p99_ms": 100, "errors": 0, "memory": "flat"}
    print(json.dumps({"bench": "load", **figures, "goal": goal,
                      "conditions": conditions(args.quick, args.sockets)}))  # fmt: skip


if __name__ == "__main__":
    main()
