"""The IlsError tree: every failure a client can see, as data.

Each error carries a stable ``code`` (the last part of the problem ``type``), an HTTP status and a
title. Edges translate them: the HTTP edge renders RFC 9457 problem+json, the WebSocket edge sends
an error frame and a close code. Errors are plain picklable objects so that Ray can re-raise them
across processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field of a request, located by a JSON pointer (``/rx/od/axis``)."""

    pointer: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "detail": self.detail}


class IlsError(Exception):
    """Base of every error ILS reports to a client."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.detail, self.extra))

    def problem(self, instance: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str]:
        return {}


def _rebuild(cls: type[IlsError], detail: str, extra: dict[str, Any]) -> IlsError:
    return cls(detail, **extra)


@dataclass
class _Issues:
    items: list[FieldIssue] = field(default_factory=list)


class ValidationFailed(IlsError):
    status = 422
    code = "validation-failed"
    title = "The request is not valid"

    def __init__(self, issues: list[FieldIssue], detail: str = "") -> None:
        super().__init__(
            detail or f"{len(issues)} field(s) are not valid",
            errors=[i.as_dict() for i in issues],
        )
        self.issues = issues

    def __reduce__(self) -> tuple[Any, ...]:
        return (ValidationFailed, (self.issues, self.detail))


class MalformedRequest(IlsError):
    status = 422
    code = "malformed-request"
    title = "The request body could not be read"


class Unauthenticated(IlsError):
    status = 401
    code = "unauthenticated"
    title = "Authentication is required"


class InvalidCredentials(IlsError):
    status = 401
    code = "invalid-credentials"
    title = "The email or password is not correct"


class MfaRequired(IlsError):
    status = 401
    code = "mfa-required"
    title = "A one-time code is required"


class Forbidden(IlsError):
    status = 403
    code = "forbidden"
    title = "Your role may not do this"


class NotFound(IlsError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(IlsError):
    status = 409
    code = "conflict"
    title = "The request conflicts with the current state"


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = "The order cannot move to that status"

    def __init__(self, detail: str = "", allowed: list[str] | None = None, **extra: Any) -> None:
        super().__init__(detail, allowed=sorted(allowed or []), **extra)


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = "The Idempotency-Key was already used with a different request"


class PayloadTooLarge(IlsError):
    status = 413
    code = "payload-too-large"
    title = "The request body is too large"


class RateLimited(IlsError):
    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str = "", retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class LockedOut(RateLimited):
    code = "locked-out"
    title = "Too many failed attempts; try again later"


class DependencyUnavailable(IlsError):
    status = 503
    code = "dependency-unavailable"
    title = "A service ILS depends on is unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}
