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


def refuse_websocket_compression() -> None:
    """Make the HTTP servers this process starts afterwards refuse permessage-deflate.

    Browsers always offer it and uvicorn accepts it by default, so a gateway replica would
    compress every frame once per socket: on 2 cores that doubled the p99 of
    ``ils bench propagation`` at 200 webhooks/s (docs/OPERATIONS.md "Ingress"). Serve builds the
    replica's uvicorn ``Config`` itself, after the replica's app is built, with no option for it,
    so the gateway's builder calls this first: ``uvicorn.Config`` then defaults
    ``ws_per_message_deflate`` to False in this process. A cluster test checks that the offer is
    refused, so a Serve or uvicorn upgrade that bypasses this fails there.
    """
    import uvicorn

    init = uvicorn.Config.__init__
    if getattr(init, "refuses_compression", False):
        return

    @functools.wraps(init)
    def plain_frames(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("ws_per_message_deflate", False)
        init(self, *args, **kwargs)

    plain_frames.refuses_compression = True  # type: ignore[attr-defined]
    uvicorn.Config.__init__ = plain_frames  # type: ignore[method-assign]
