"""Ray Serve settings that matter on small machines, applied before Ray starts.

Measured on a 2-core box (ARCHITECTURE.md §5): running user code and the router on the replica's
main loop, and keeping per-request access logs off the hot path, cut WebSocket push p99 from 83 to
52 ms. They are defaults: a value already in the environment wins.

The ingress is Serve's HAProxy ingress (``haproxy``, the default of ``ils up``) or Serve's Python
proxy (``proxy``): HAProxy, shipped with ``ray[serve]``, listens on the HTTP port and hands each
connection to a replica's own HTTP server, so request bodies and WebSocket frames do not pass
through the Python proxy and a Ray call each (``ils bench propagation --ingress`` measures both:
on 2 cores about 5 times the webhook rate, and a tenth of the p99).
"""

from __future__ import annotations

import functools
import os
from typing import Any, Literal

Ingress = Literal["proxy", "haproxy"]

SERVE_DEFAULTS = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
    "RAY_SERVE_LOG_TO_STDERR": "0",
}

INGRESS_SETTINGS: dict[str, dict[str, str]] = {
    "proxy": {"RAY_SERVE_ENABLE_DIRECT_INGRESS": "0", "RAY_SERVE_ENABLE_HA_PROXY": "0"},
    "haproxy": {"RAY_SERVE_ENABLE_DIRECT_INGRESS": "1", "RAY_SERVE_ENABLE_HA_PROXY": "1"},
}


def apply_serve_tuning(
    ingress: Ingress = "haproxy",
    haproxy_metrics_port: int | None = None,
    haproxy_drain_s: float | None = None,
) -> dict[str, str]:
    """Set the defaults and the ingress in this process (Ray's processes inherit them); return
    what is in force. The ingress is set, not defaulted: it must agree with the settings.
    ``haproxy_metrics_port`` moves HAProxy's Prometheus port off 9101 (tests and benchmarks, so
    they can run beside a running ILS); ``haproxy_drain_s`` shortens the 30 s a replica stopped
    behind HAProxy stays up for load balancers to let go of it (tests, where HAProxy is told at
    once)."""
    for name, value in SERVE_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ.update(INGRESS_SETTINGS[ingress])
    if haproxy_metrics_port is not None:
        os.environ["RAY_SERVE_HAPROXY_METRICS_PORT"] = str(haproxy_metrics_port)
    if haproxy_drain_s is not None:
        os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] = str(haproxy_drain_s)
    return {name: os.environ[name] for name in (*SERVE_DEFAULTS, *INGRESS_SETTINGS[ingress])}


def tune_gateway_server(compression: bool) -> None:
    """Set the defaults of the HTTP servers this process starts afterwards (the gateway's).

    Serve builds the replica's uvicorn ``Config`` itself, after the replica's app is built, with
    no option for the WebSocket protocol, so the gateway's builder calls this first and
    ``uvicorn.Config`` then defaults, in this process only:

    - ``ws`` to :class:`CoalescingWebSockets`: the frames a socket is sent in one turn of the event
      loop leave in one write (``ils bench propagation`` measures it);
    - ``ws_per_message_deflate`` to ``compression``. Browsers always offer permessage-deflate and
      uvicorn accepts it by default, so a gateway would compress every frame once per socket: on 2
      cores that doubled the p99 at 200 webhooks/s (docs/OPERATIONS.md "Ingress").

    A cluster test checks that compression is refused, so a Serve or uvicorn upgrade that
    bypasses this fails there; a unit test checks the protocol's writes.
    """
    import uvicorn

    init = uvicorn.Config.__init__
    if getattr(init, "gateway_defaults", False):
        return

    @functools.wraps(init)
    def gateway_defaults(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("ws", coalescing_websockets())
        kwargs.setdefault("ws_per_message_deflate", compression)
        init(self, *args, **kwargs)

    gateway_defaults.gateway_defaults = True  # type: ignore[attr-defined]
    uvicorn.Config.__init__ = gateway_defaults  # type: ignore[method-assign]


@functools.cache
def coalescing_websockets() -> type:
    """uvicorn's sans-I/O WebSocket protocol, writing a turn's frames in one system call.

    uvicorn writes each ``websocket.send`` to the socket at once: at 200 events/s, each reaching
    about 60 sockets, a replica makes 12,000 writes a second, each waking the ingress and the
    client too. Here a data frame is framed at once (in order, compressed if negotiated) and the
    socket is written once, at the end of the event loop's turn, with every frame framed since.
    A pump that sends a socket several queued events without yielding so makes one write. Every
    other message (close, handshake) first writes what is pending, so order is kept.
    """
    from uvicorn.protocols.utils import ClientDisconnected
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.exceptions import InvalidState

    class CoalescingWebSockets(WebSocketsSansIOProtocol):
        flush_due = False

        async def send(self, message: Any) -> None:
            if message["type"] != "websocket.send" or not self.handshake_complete:
                self.flush()
                await super().send(message)
                return
            await self.writable.wait()
            if self.disconnected or self.close_sent:
                await super().send(message)  # answers as uvicorn does
                return
            try:
                if message.get("bytes") is not None:
                    self.conn.send_binary(message["bytes"])
                elif message.get("text") is not None:
                    self.conn.send_text(message["text"].encode())
            except InvalidState:
                raise ClientDisconnected() from None
            if not self.flush_due:
                self.flush_due = True
                self.loop.call_soon(self.flush)

        def flush(self) -> None:
            self.flush_due = False
            output = self.conn.data_to_send()
            if output and not self.transport.is_closing():
                self.transport.write(b"".join(output))

    return CoalescingWebSockets
