"""The outbound LIMS client: ``POST {base}/jobs`` with the order, a Bearer key and an
``Idempotency-Key`` (API.md "LIMS").

Timeouts are httpx's (connect, read, write, pool). Retries inside one call use tenacity with
exponential backoff and full jitter, and only for what may succeed on a second try: 5xx, 408, 429
(honouring ``Retry-After``), timeouts and connection errors. A ``Retry-After`` longer than the
in-call budget ends the call at once: the outbox schedules the row for then instead of holding a
connection. Every other 4xx is final (:class:`LimsRejected`), except the ones that say the lab's
*configuration* is wrong (401, 403, 404, 405, 407: a bad key or base URL): those are the lab's
problem, not the order's, so they are retryable (:class:`LimsUnavailable`) and open the breaker
instead of putting every order on hold.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

#: 4xx answers that mean the lab's LIMS settings are wrong, not the order.
CONFIGURATION_STATUSES = frozenset({401, 403, 404, 405, 407})
RETRYABLE_4XX = frozenset({408, 425, 429})
MAX_REASON = 500


@dataclass(frozen=True)
class ClientPolicy:
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    attempts: int = 3  # tries inside one call (the outbox retries for longer)
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 2.0
    max_inline_wait_s: float = 5.0  # a longer Retry-After ends the call; the outbox waits it

    @property
    def worst_case_s(self) -> float:
        """An upper bound on one ``submit``: every try times out and waits the longest backoff."""
        per_try = self.connect_timeout_s + 2 * self.read_timeout_s
        waits = max(self.backoff_cap_s, self.max_inline_wait_s)
        return self.attempts * per_try + (self.attempts - 1) * waits


@dataclass(frozen=True)
class Accepted:
    job_id: str
    status: str
    estimated_completion: str | None


class LimsError(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_REASON]
        self.status = status


class LimsRejected(LimsError):
    """A final refusal of this order (a 4xx): the order goes on hold with ``reason``."""


class LimsUnavailable(LimsError):
    """The LIMS could not take the order now; try again (after ``retry_after_s`` if given)."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(reason, status)
        self.retry_after_s = retry_after_s


class _Transient(LimsUnavailable):
    """A failure worth another try inside the same call."""


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def reason_of(response: httpx.Response) -> str:
    """The LIMS's own words: a problem's ``detail``/``title``, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detail", "title", "message", "error", "reason"):
            if isinstance(body.get(key), str) and body[key]:
                return f"{response.status_code}: {body[key]}"
    text = response.text.strip()[:200]
    return f"{response.status_code}: {text or response.reason_phrase}"


def accepted_from(response: httpx.Response) -> Accepted:
    """A 2xx answer as :class:`Accepted`; anything else a 2xx can carry is a LIMS fault."""
    try:
        body: Any = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("job_id"), str) or not body["job_id"]:
        raise LimsUnavailable(
            f"{response.status_code}: the LIMS answered without a job_id", response.status_code
        )
    eta = body.get("estimated_completion")
    return Accepted(body["job_id"], str(body.get("status", "accepted")), eta if eta else None)


class LimsClient:
    """One lab's LIMS. Build one per lab and close it when the lab's settings change."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        policy: ClientPolicy | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.policy = policy or ClientPolicy()
        timeout = httpx.Timeout(
            self.policy.read_timeout_s,
            connect=self.policy.connect_timeout_s,
            pool=self.policy.connect_timeout_s,
        )
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}"},
        )
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http.aclose()

    async def submit(self, order: dict[str, Any], idempotency_key: str) -> Accepted:
        """Send the order; :class:`LimsRejected` (final) or :class:`LimsUnavailable` (retry)."""
        body = json.dumps(order, default=str).encode()
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        kwargs: dict[str, Any] = {} if self._sleep is None else {"sleep": self._sleep}
        retrying = AsyncRetrying(
            stop=stop_any(stop_after_attempt(self.policy.attempts), _WaitsTooLong(self.policy)),
            wait=_wait(self.policy),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
            **kwargs,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(body, headers)
        except _Transient as exc:
            raise LimsUnavailable(exc.reason, exc.status, exc.retry_after_s) from exc
        raise AssertionError("tenacity ends with a result or an exception")  # pragma: no cover

    async def _once(self, body: bytes, headers: dict[str, str]) -> Accepted:
        try:
            response = await self._http.post("/jobs", content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise _Transient(f"connection: {type(exc).__name__}: {exc}"[:MAX_REASON]) from exc
        status = response.status_code
        if 200 <= status < 300:
            return accepted_from(response)
        if status >= 500 or status in RETRYABLE_4XX:
            after = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
            raise _Transient(reason_of(response), status, after)
        if status in CONFIGURATION_STATUSES:
            raise LimsUnavailable(f"LIMS settings refused: {reason_of(response)}", status)
        if 400 <= status < 500:
            raise LimsRejected(reason_of(response), status)
        raise LimsUnavailable(f"unexpected answer {reason_of(response)}", status)


def _wait(policy: ClientPolicy) -> Callable[[RetryCallState], float]:
    jitter = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_cap_s)

    def wait(state: RetryCallState) -> float:
        drawn = float(jitter(state))
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after_s", None)
        return max(drawn, after) if after is not None else drawn

    return wait


class _WaitsTooLong(stop_base):
    """Stop retrying in-call when the LIMS asks for a longer wait than the call may spend."""

    def __init__(self, policy: ClientPolicy) -> None:
        self.limit = policy.max_inline_wait_s

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after_s", None)
        return after is not None and after > self.limit
