"""Frames and close codes of the real-time API (API.md "Real-time"), and their encodings."""

from __future__ import annotations

import json
from typing import Any

import msgpack

MSGPACK = "ils.msgpack"

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # a flood of frames, or frames that are not JSON objects
CLOSE_INTERNAL = 1011
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408  # silent for longer than the idle limit: reconnect with `since`
CLOSE_RESUME_IMPOSSIBLE = 4409
CLOSE_SLOW_CONSUMER = 4429  # the socket fell behind: reconnect with `since` to resume

PING_EVERY_S = 20.0
IDLE_LIMIT_S = 60.0
AUTH_TIMEOUT_S = 10.0
#: Client frames allowed per second (a burst of twice this is tolerated).
CLIENT_FRAMES_PER_S = 20.0
QUEUE_LIMIT = 2000


class FrameError(ValueError):
    """A client frame that is not what the protocol allows."""


def encode(frame: dict[str, Any], binary: bool) -> str | bytes:
    if binary:
        packed: bytes = msgpack.packb(frame, use_bin_type=True)
        return packed
    return json.dumps(frame, separators=(",", ":"), default=str)


class Outgoing:
    """A server frame encoded at most once per encoding, however many sockets send it.

    An event reaches every socket of its tenant on a gateway replica; encoding it once per
    replica (per JSON/MessagePack) instead of once per socket keeps the fan-out cheap.
    """

    __slots__ = ("_binary", "_text", "frame")

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        self._text: str | None = None
        self._binary: bytes | None = None

    def __getitem__(self, key: str) -> Any:
        return self.frame[key]

    def encoded(self, binary: bool) -> str | bytes:
        if binary:
            if self._binary is None:
                self._binary = msgpack.packb(self.frame, use_bin_type=True)
            return self._binary
        if self._text is None:
            self._text = json.dumps(self.frame, separators=(",", ":"), default=str)
        return self._text


def decode(data: str | bytes | None, binary: bool) -> dict[str, Any]:
    if data is None:
        raise FrameError("empty frame")
    try:
        value = (
            msgpack.unpackb(data, raw=False)
            if binary and isinstance(data, bytes)
            else (json.loads(data))
        )
    except (ValueError, msgpack.UnpackException) as exc:
        raise FrameError("a frame must be a JSON (or MessagePack) object") from exc
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise FrameError("a frame is an object with a string `type`")
    return value


def error_frame(code: str, detail: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail}
