"""Schemathesis against /openapi.json over real HTTP: no 5xx, responses match the schema.

The API runs in uvicorn on loopback in a thread (its own event loop and runtime), so the
generated requests go through the whole HTTP stack. Each operation gets a bounded, derandomised
number of examples, authenticated as a practice admin (the logout and MFA routes are left out:
they would end or change the fuzzing session itself).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import Failure, FailureGroup

from bench.scratch import drop_prefix, free_port
from ils.api.app import create_app
from ils.domain.access import TenantKind
from ils.runtime import Runtime
from ils.settings import Settings
from tests.integration.conftest import PASSWORD

EXAMPLES = 20
SKIP = ("/api/auth/logout", "/api/auth/mfa/enroll", "/api/auth/mfa/confirm")


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    asyncio.run(drop_prefix(settings))  # the fuzzed logins' failure counters and lockouts


def _tenant(settings: Settings) -> None:
    async def make() -> None:
        runtime = await Runtime.open(settings)
        try:
            lab = await runtime.identity.create_tenant(
                TenantKind.LAB, "Fuzz Lab", "admin@fuzz-lab.example", PASSWORD, runtime.clock()
            )
            practice = await runtime.identity.create_tenant(
                TenantKind.PRACTICE, "Fuzz Optics", "admin@fuzz.example", PASSWORD, runtime.clock()
            )
            await runtime.identity.link(lab["tenant_id"], practice["tenant_id"], runtime.clock())
        finally:
            await runtime.close()

    worker = threading.Thread(target=lambda: asyncio.run(make()))
    worker.start()
    worker.join()


def test_fuzz_every_operation(settings: Settings, served: str) -> None:
    _tenant(settings)
    token = httpx.post(
        served + "/api/auth/login", json={"email": "admin@fuzz.example", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(served + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP:
            continue
        operations += 1

        @hsettings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=served, headers=headers, timeout=10)
            try:
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
            except (AssertionError, Failure, FailureGroup) as exc:  # report all together
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:300]}")

        run()
    print(f"fuzzed {operations} operations, {EXAMPLES} examples each")
    assert operations > 10
    assert not failures, "\n".join(failures[:20])
