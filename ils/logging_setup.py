"""Structured logs: one JSON object a line, with the id of the request being served.

``configure()`` installs the JSON formatter on the root logger (``ils up``, each Serve replica);
the HTTP edge binds the request id (``X-Request-ID``) for the duration of a request with
:func:`request_scope`, and every record logged meanwhile carries it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

REQUEST_ID_HEADER = "X-Request-ID"
#: A client's id is kept when it looks like an id; anything else gets a fresh one.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ils_request_id", default=None
)

#: Attributes every LogRecord has; anything else was passed in ``extra=`` and is logged too.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def request_id() -> str | None:
    """The id of the request this code runs for, if any."""
    return _request_id.get()


def accept_request_id(offered: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a sane id, else a new one."""
    if offered and _ACCEPTABLE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def request_scope(rid: str) -> Iterator[str]:
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id"?, "exc"?, ...extra}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or _request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure(level: str | int = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as JSON; returns the installed handler.

    Idempotent: a second call replaces the handler the first installed.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ils_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._ils_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in _CHATTY:  # a line per outgoing HTTP request drowns everything else
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    return handler


#: Libraries that log every request they make at INFO.
_CHATTY = ("httpx", "httpcore")
