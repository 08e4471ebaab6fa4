"""Login while Redis is down answers 503 dependency-unavailable with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bench.scratch import free_port
from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.runtime import Runtime
from ils.services.ports import Gateways, RecordingPublisher
from ils.settings import Settings
from tests.integration.conftest import PASSWORD


@pytest.fixture
async def redisless(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    # a free loopback port: nothing listens there
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    rt = await Runtime.open(down, Gateways(publisher=RecordingPublisher()))
    app = create_app(down, runtime=rt)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ils.test") as client:
            yield rt, client
    finally:
        await rt.close()


async def test_login_answers_503_when_redis_is_down(
    redisless: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = redisless
    email = "admin@no-redis.example"
    await runtime.identity.create_tenant(
        TenantKind.LAB, "No Redis", email, PASSWORD, runtime.clock()
    )
    for password in (PASSWORD, "Wrong-Horse-42!"):
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "/problems/dependency-unavailable"
        assert int(response.headers["retry-after"]) > 0
    async with runtime.db.connection() as conn:  # no session was opened
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
