"""The outbound LIMS client against an in-memory transport (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from ils.lims.client import (
    ClientPolicy,
    LimsClient,
    LimsRejected,
    LimsUnavailable,
    retry_after_seconds,
)

POLICY = ClientPolicy(attempts=3, backoff_base_s=0.01, backoff_cap_s=0.05, max_inline_wait_s=1.0)
ORDER = {"id": "o-1", "lens": {"type": "progressive"}, "due_date": "2026-12-10"}


class Script:
    """Answers in turn; records every request it saw."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.answers[min(len(self.seen), len(self.answers)) - 1](request)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"job_id": "J-1", "status": "accepted"})


def status(code: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json={"detail": f"said {code}"}, headers=headers)

    return answer


def fails(exc: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)  # type: ignore[call-arg]

    return answer


async def submit(script: Script, sleeps: list[float] | None = None) -> object:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    client = LimsClient(
        "http://lims.test/", "key-1", POLICY, transport=httpx.MockTransport(script), sleep=sleep
    )
    try:
        return await client.submit(ORDER, "o-1")
    finally:
        await client.aclose()


async def test_sends_the_order_with_bearer_key_and_idempotency_key() -> None:
    script = Script(ok)
    accepted = await submit(script)
    assert accepted.job_id == "J-1"
    request = script.seen[0]
    assert request.method == "POST" and str(request.url) == "http://lims.test/jobs"
    assert request.headers["authorization"] == "Bearer key-1"
    assert request.headers["idempotency-key"] == "o-1"
    assert json.loads(request.content) == ORDER


async def test_5xx_and_connection_errors_are_retried_with_backoff_then_succeed() -> None:
    sleeps: list[float] = []
    script = Script(status(503), fails(httpx.ConnectError), ok)
    assert (await submit(script, sleeps)).job_id == "J-1"
    assert len(script.seen) == 3 and len(sleeps) == 2
    assert all(0 <= s <= POLICY.backoff_cap_s for s in sleeps)


async def test_retryable_failures_end_as_unavailable_after_the_attempts() -> None:
    script = Script(fails(httpx.ReadTimeout))
    with pytest.raises(LimsUnavailable) as caught:
        await submit(script)
    assert len(script.seen) == POLICY.attempts and "timeout" in caught.value.reason


async def test_429_honours_retry_after() -> None:
    sleeps: list[float] = []
    script = Script(status(429, **{"Retry-After": "0"}), ok)
    await submit(script, sleeps)
    assert len(script.seen) == 2
    sleeps.clear()
    script = Script(status(429, **{"Retry-After": "30"}), ok)
    with pytest.raises(LimsUnavailable) as caught:  # longer than the in-call budget
        await submit(script, sleeps)
    assert len(script.seen) == 1 and caught.value.retry_after_s == 30.0 and sleeps == []


async def test_a_4xx_is_final_and_carries_the_lims_reason() -> None:
    script = Script(status(422))
    with pytest.raises(LimsRejected) as caught:
        await submit(script)
    assert len(script.seen) == 1
    assert caught.value.status == 422 and "said 422" in caught.value.reason


@pytest.mark.parametrize("code", [401, 403, 404])
async def test_a_refused_key_or_wrong_url_is_the_labs_problem_not_the_orders(code: int) -> None:
    script = Script(status(code))
    with pytest.raises(LimsUnavailable) as caught:
        await submit(script)
    assert not isinstance(caught.value, LimsRejected) and len(script.seen) == 1


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"{}", b'{"job_id": 7}'])
async def test_a_2xx_without_a_job_id_is_a_lims_fault(body: bytes) -> None:
    script = Script(lambda request: httpx.Response(200, content=body))
    with pytest.raises(LimsUnavailable):
        await submit(script)


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds("Wed, 25 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None
