"""Integration tier: the API in-process over ASGI, against real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.runtime import Runtime
from ils.services.ports import Gateways, RecordingPublisher
from ils.settings import Settings

PASSWORD = "Correct-Horse-42!"


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings, Gateways(publisher=RecordingPublisher()))
    try:
        yield rt
    finally:
        await rt.bus.delete_prefix("")
        await rt.close()


@pytest.fixture
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, runtime=runtime)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as c:
        yield c


@dataclass
class Party:
    tenant_id: str
    admin_id: str
    token: str
    email: str
    webhook_secret: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    lab: Party
    practice: Party
    other_practice: Party


async def make_party(
    runtime: Runtime, client: httpx.AsyncClient, kind: TenantKind, name: str
) -> Party:
    email = f"admin@{name.lower().replace(' ', '-')}.example"
    made = await runtime.identity.create_tenant(kind, name, email, PASSWORD, runtime.clock())
    token = await login(client, email)
    return Party(made["tenant_id"], made["admin_user_id"], token, email, made.get("webhook_secret"))


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def world(runtime: Runtime, client: httpx.AsyncClient) -> World:
    lab = await make_party(runtime, client, TenantKind.LAB, "Lens Lab")
    practice = await make_party(runtime, client, TenantKind.PRACTICE, "Bright Eyes")
    other = await make_party(runtime, client, TenantKind.PRACTICE, "Other Optics")
    now = runtime.clock()
    await runtime.identity.link(lab.tenant_id, practice.tenant_id, now)
    await runtime.identity.link(lab.tenant_id, other.tenant_id, now)
    return World(lab, practice, other)


def order_body(lab_id: str, **changes: Any) -> dict[str, Any]:
    """A valid progressive order (the example of API.md); ``changes`` replace top-level keys."""
    body: dict[str, Any] = {
        "lab_id": lab_id,
        "patient_ref": "P-1042",
        "due_date": "2026-12-10",
        "priority": "standard",
        "rx": {
            "od": {
                "sphere": -2.25,
                "cylinder": -0.75,
                "axis": 180,
                "add": 2.00,
                "prism": [{"amount": 1.0, "base": "IN"}],
                "pd": 31.5,
                "near_pd": 30.0,
                "seg_height": 18.0,
            },
            "os": {
                "sphere": -2.00,
                "cylinder": -0.50,
                "axis": 175,
                "add": 2.00,
                "pd": 32.0,
                "seg_height": 18.0,
            },
        },
        "lens": {"type": "progressive", "material": "1.60", "coatings": ["ar", "hard"]},
        "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
    }
    body.update(changes)
    return body
