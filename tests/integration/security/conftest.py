"""Helpers for the security tests: a clock the test moves, and users of a given role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ils.runtime import Runtime
from tests.integration.conftest import PASSWORD, Party, login


@dataclass
class MovableClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@pytest.fixture
def clock(runtime: Runtime) -> MovableClock:
    moving = MovableClock(datetime.now(UTC))
    runtime.clock = moving
    return moving


async def add_user(
    client: httpx.AsyncClient, admin: Party, email: str, role: str
) -> tuple[str, str]:
    """(user id, access token) of a new user in the admin's tenant."""
    made = await client.post(
        "/api/users",
        json={"email": email, "password": PASSWORD, "role": role},
        headers=admin.auth,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"], await login(client, email)


async def audit_actions(runtime: Runtime, tenant_id: str) -> list[str]:
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT action FROM audit_log WHERE tenant_id = $1 ORDER BY n", tenant_id
        )
    return [r["action"] for r in rows]
