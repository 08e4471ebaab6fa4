"""The gateway's WebSocket protocol: the frames of one event-loop turn leave in one write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from actors.tuning import coalescing_websockets

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: ils.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


class Transport(asyncio.Transport):
    """Records each write (one system call on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name)


def frames_in(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked server frame in ``data`` (RFC 6455 section 5.2)."""
    found, at = [], 0
    while at < len(data):
        opcode, length, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, at = int.from_bytes(data[at : at + size], "big"), at + size
        found.append((opcode, data[at : at + length]))
        at += length
    return found


async def serve_one(protocol_class: type, sends: list[dict[str, Any]]) -> list[bytes]:
    """Open one socket on ``protocol_class``; the app sends ``sends`` in one turn; the writes."""
    sent = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        for message in sends:
            await send(message)
        sent.set()
        await receive()

    config = uvicorn.Config(app, ws=protocol_class, lifespan="off", log_config=None)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(HANDSHAKE)
    await asyncio.wait_for(sent.wait(), 5)
    await asyncio.sleep(0)  # the end of the turn
    writes = list(transport.writes)
    protocol.connection_lost(None)
    return writes


def texts(n: int) -> list[dict[str, Any]]:
    return [{"type": "websocket.send", "text": f'{{"type":"event","seq":{i}}}'} for i in range(n)]


async def test_frames_sent_in_one_turn_leave_in_one_write() -> None:
    writes = await serve_one(coalescing_websockets(), texts(5))
    assert writes[0].startswith(b"HTTP/1.1 101")
    assert len(writes) == 2
    assert [payload for _, payload in frames_in(writes[1])] == [
        f'{{"type":"event","seq":{i}}}'.encode() for i in range(5)
    ]
    # uvicorn's own protocol writes each frame apart: what the gateway saves.
    assert len(await serve_one(WebSocketsSansIOProtocol, texts(5))) == 6


async def test_a_close_after_frames_keeps_their_order() -> None:
    sends = [*texts(2), {"type": "websocket.send", "bytes": b"\x81\xa1x"}]
    sends.append({"type": "websocket.close", "code": 4409, "reason": "reconnect with since=2"})
    writes = await serve_one(coalescing_websockets(), sends)
    frames = frames_in(b"".join(writes[1:]))
    assert [opcode for opcode, _ in frames] == [TEXT, TEXT, BINARY, CLOSE]
    assert frames[2][1] == b"\x81\xa1x"
    assert frames[3][1][:2] == (4409).to_bytes(2, "big")


@pytest.mark.parametrize("compression", [False, True])
def test_the_gateway_server_defaults(compression: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.tuning import tune_gateway_server

    monkeypatch.setattr(uvicorn.Config, "__init__", uvicorn.Config.__init__)
    tune_gateway_server(compression)
    config = uvicorn.Config(lambda: None)
    assert config.ws is coalescing_websockets()
    assert config.ws_per_message_deflate is compression
