"""Set-up of ``bench.propagation``: scratch database, tenants, users, sockets and orders.

Tenants are made the way ``ils tenant create`` makes them; users, logins and orders go through
the API deployed on Serve. Each order's job is driven by :data:`STEPS`, one webhook per step.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.lab_group import make_tenants
from bench.propagation_clients import Viewer
from bench.scratch import create_database, drop_database
from bench.scratch import free_port as free_port  # bench.propagation's imports
from bench.scratch import with_database as with_database
from ils.domain.station import route
from ils.settings import Settings

PASSWORD = "Bench-Propagation-Phrase-7!"
PRACTICES = 4
CLIENTS = 100
#: Seconds between two steps of one job in the schedule (at least; more with long phases).
STEP_GAP_S = 3.0
#: Each order's job, step by step: every step moves it forward, so each is an order event.
STEPS: list[tuple[str, dict[str, Any]]] = [
    ("job.accepted", {"status": "accepted"}),
    *[
        ("job.station_changed", {"station": s.value, "status": "queued"})
        for s in route("progressive", {"ar", "hard"})
    ],
    ("job.shipped", {"carrier": "UPS", "tracking_number": "1Z999"}),
    ("job.delivered", {}),
]


@dataclass
class Phase:
    name: str
    rate: float
    duration_s: float
    first: int
    orders: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return int(self.rate * self.duration_s)


def phases_of(rate: float, duration: float, sweep: list[float], sweep_s: float) -> list[Phase]:
    plan = [("main", rate, duration)] + [(f"sweep_{r:g}", r, sweep_s) for r in sweep]
    phases: list[Phase] = []
    first = 0
    for name, r, d in plan:
        phases.append(Phase(name, r, d, first))
        first += phases[-1].count
    return phases


async def scratch(settings: Settings, name: str, create: bool) -> None:
    """Create (and migrate) or drop the run's database ``name``."""
    await (create_database if create else drop_database)(settings, name)


async def tenants(settings: Any) -> dict[str, Any]:
    """One lab and its linked practices, made the way `ils tenant create` makes them."""
    lab, practices, secret = await make_tenants(settings, PRACTICES, "prop", PASSWORD)
    return {
        "lab": {"tenant_id": lab.tenant_id, "email": lab.email, "webhook_secret": secret},
        "practices": [{"tenant_id": p.tenant_id, "email": p.email} for p in practices],
    }


async def login(http: httpx.AsyncClient, email: str) -> str:
    answer = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


async def users(http: httpx.AsyncClient, email: str, roles: list[str]) -> list[tuple[str, str]]:
    """The admin adds users through POST /api/users; (token, role) of the admin and each user."""
    admin = await login(http, email)
    people = [(admin, "admin")]
    for k, role in enumerate(roles):
        user = f"{role}-{k}@" + email.split("@", 1)[1]
        made = await http.post(
            "/api/users",
            json={"email": user, "password": PASSWORD, "role": role},
            headers={"Authorization": f"Bearer {admin}"},
        )
        made.raise_for_status()
        people.append((await login(http, user), role))
    return people


async def viewers_of(http: httpx.AsyncClient, parties: dict[str, Any]) -> list[Viewer]:
    """Half the sockets on the lab (four users), the rest spread over the practices (two each)."""
    from ils.domain.access import Principal, Role, TenantKind
    from ils.domain.visibility import visible_topics

    lab = parties["lab"]
    groups = [
        (lab["tenant_id"], TenantKind.LAB, CLIENTS // 2,
         await users(http, lab["email"], ["lab_tech", "lab_tech", "engineer"])),
    ]  # fmt: skip
    rest = CLIENTS - CLIENTS // 2
    for k, practice in enumerate(parties["practices"]):
        share = rest // PRACTICES + (1 if k < rest % PRACTICES else 0)
        people = await users(http, practice["email"], ["ecp"])
        groups.append((practice["tenant_id"], TenantKind.PRACTICE, share, people))
    viewers: list[Viewer] = []
    for tenant_id, kind, sockets, people in groups:
        for s in range(sockets):
            token, role = people[s % len(people)]
            seen = visible_topics(Principal("", tenant_id, kind, Role(role)))
            topics = tuple(sorted(str(t) for t in seen))
            viewers.append(Viewer(len(viewers), token, tenant_id, topics))
    return viewers


async def place_orders(
    http: httpx.AsyncClient, parties: dict[str, Any], phases: list[Phase]
) -> float:
    """Enough orders through POST /api/orders, spread over the practices; seconds taken."""
    from bench.webhooks import ORDER

    tokens = [await login(http, p["email"]) for p in parties["practices"]]
    body = {**ORDER, "lab_id": parties["lab"]["tenant_id"]}
    gate = asyncio.Semaphore(8)

    async def place(k: int) -> str:
        async with gate:
            made = await http.post(
                "/api/orders",
                json=body,
                headers={"Authorization": f"Bearer {tokens[k % len(tokens)]}"},
            )
        made.raise_for_status()
        return str(made.json()["id"])

    began = time.perf_counter()
    for phase in phases:
        # enough jobs that one job's steps are STEP_GAP_S apart at the phase's rate: a slow
        # answer then holds back its own job's next step, not the whole schedule
        needed = max(math.ceil(phase.count / len(STEPS)), math.ceil(phase.rate * STEP_GAP_S))
        phase.orders = list(await asyncio.gather(*(place(k) for k in range(needed))))
    return time.perf_counter() - began


async def open_lab_views(http: httpx.AsyncClient, parties: dict[str, Any]) -> float:
    """The lab's admin opens the live lab and the bottleneck view, as the lab's screens do before
    a shift; this starts the lab's station and detector actors before the stream. Seconds."""
    began = time.perf_counter()
    auth = {"Authorization": f"Bearer {await login(http, parties['lab']['email'])}"}
    for path in ("/api/lab/stations", "/api/bottlenecks"):
        (await http.get(path, headers=auth)).raise_for_status()
    return time.perf_counter() - began
