"""RFC 9457 problem+json rendering for every error that reaches the HTTP edge."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ils.errors import FieldIssue, IlsError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM, headers=headers)


def _pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        where = parts.pop(0)
        if where != "body":
            return "/" + "/".join(str(p) for p in [where, *parts])
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_issues(exc: RequestValidationError) -> list[FieldIssue]:
    issues = []
    for err in exc.errors():
        code = str(err.get("type", "invalid")).replace("_", "-")
        if code == "json-invalid":
            code = "malformed-json"
        issues.append(FieldIssue(_pointer(err.get("loc", ())), code, str(err.get("msg", ""))))
    return issues


def install(app: FastAPI) -> None:
    @app.exception_handler(IlsError)
    async def _ils(request: Request, exc: IlsError) -> JSONResponse:
        return problem_response(exc.problem(request.url.path), exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = validation_issues(exc)
        malformed = any(i.code == "malformed-json" for i in issues)
        body = {
            "type": "/problems/" + ("malformed-request" if malformed else "validation-failed"),
            "title": "The request body could not be read"
            if malformed
            else "The request is not valid",
            "status": 422,
            "detail": f"{len(issues)} field(s) are not valid",
            "instance": request.url.path,
            "errors": [i.as_dict() for i in issues],
        }
        return problem_response(body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http-error")
        body = {
            "type": f"/problems/{code}",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        return problem_response(body, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(IlsError("an unexpected error occurred").problem(request.url.path))
