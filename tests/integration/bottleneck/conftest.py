"""A lab whose surfacing is short of staff, fed through the stations service minute by minute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ils.domain.lims_event import Movement, Presence
from ils.domain.station import Station
from ils.runtime import Runtime
from tests.integration.conftest import World


@dataclass(frozen=True)
class Leg:
    station: str
    staff: int
    machines: int
    service_min: float
    cross_trained: tuple[str, ...] = ()


#: A job every 2 minutes; surfacing has 2 of the 3 people it needs (load 1.5), picking and edging
#: have people to spare and are cross-trained for surfacing.
LINE = (
    Leg("picking", 4, 0, 2.0, ("surfacing",)),
    Leg("surfacing", 2, 4, 6.0),
    Leg("edging", 3, 0, 3.0, ("surfacing",)),
)
EVERY_MIN = 2.0


def line_movements(start: datetime, jobs: int, legs: Sequence[Leg] = LINE) -> list[Movement]:
    """Jobs through the legs in order, each station serving first come first served."""
    free = {leg.station: [0.0] * min(leg.staff, leg.machines or leg.staff) for leg in legs}
    moves = []
    for j in range(jobs):
        t, seq = j * EVERY_MIN, 0
        for leg in legs:
            servers = free[leg.station]
            k = min(range(len(servers)), key=servers.__getitem__)
            begin = max(t, servers[k])
            servers[k] = end = begin + leg.service_min
            steps: tuple[tuple[Presence, float], ...] = (
                ("queued", t),
                ("in_process", begin),
                ("done", end),
            )
            for status, at in steps:
                seq += 1
                stamp = start + timedelta(minutes=at)
                moves.append(Movement(Station(leg.station), f"J{j:04d}", status, seq, stamp))
            t = end
    return sorted(moves, key=lambda m: (m.occurred_at, m.sequence))


async def configure(client: httpx.AsyncClient, world: World, legs: Sequence[Leg] = LINE) -> None:
    for leg in legs:
        body = {"staff": leg.staff, "machines": leg.machines, "cross_trained": leg.cross_trained}
        put = await client.put(
            f"/api/lab/stations/{leg.station}", json=body, headers=world.lab.auth
        )
        assert put.status_code == 200, put.text


async def feed(runtime: Runtime, lab_id: str, moves: Sequence[Movement], until: datetime) -> int:
    """Feed the movements up to ``until`` one minute at a time (as webhooks would)."""
    calls = 0
    by_minute: dict[int, list[Movement]] = {}
    first = moves[0].occurred_at
    for move in moves:
        if move.occurred_at <= until:
            minute = int((move.occurred_at - first).total_seconds() // 60)
            by_minute.setdefault(minute, []).append(move)
    for minute in sorted(by_minute):
        calls += 1
        await runtime.stations.after_commit(lab_id, by_minute[minute], until, float(calls))
    return calls


@dataclass(frozen=True)
class Fed:
    start: datetime
    end: datetime


@pytest.fixture
async def fed(client: httpx.AsyncClient, runtime: Runtime, world: World) -> Fed:
    """60 minutes of the short-staffed line, ending a minute ago."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=61)
    await configure(client, world)
    end = start + timedelta(minutes=60)
    await feed(runtime, world.lab.tenant_id, line_movements(start, 40), end)
    await runtime.bottlenecks.settle()
    return Fed(start, end)
