"""A bare Ray Serve WebSocket echo: the floor that ``bench.propagation`` is measured against.

Deployed beside the ILS applications (same Serve proxy, same replica options as the gateway), it
does nothing but send back every text frame it receives.
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket
from ray import serve
from ray.serve import Application
from starlette.websockets import WebSocketDisconnect


def _echo_app() -> FastAPI:
    app = FastAPI(title="echo")

    @app.websocket("/")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect:
            return

    return app


def build_echo() -> Application:
    """One echo replica with the gateway's options (no CPU reservation, 10 000 sockets)."""

    @serve.deployment(
        name="echo", num_replicas=1, max_ongoing_requests=10_000, ray_actor_options={"num_cpus": 0}
    )
    @serve.ingress(_echo_app)
    class Echo:
        """Echoes text frames."""

    return Echo.bind()  # type: ignore[attr-defined]
