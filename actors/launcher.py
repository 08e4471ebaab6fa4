"""`ils up`: embedded services, migrations, a local Ray (or RAY_ADDRESS), Serve, the demo lab.

Runs in the foreground; SIGINT/SIGTERM shut everything down in reverse order, so no Ray,
PostgreSQL or Redis process is left behind.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import httpx
import ray
from ray import serve

from actors.background import start_background, stop_background
from actors.deploy import deploy
from actors.tuning import apply_serve_tuning
from ils.db.database import Database
from ils.db.migrate import migrate
from ils.demo import DemoSetup, seed_demo
from ils.embedded import ensure_services
from ils.logging_setup import configure as configure_logging
from ils.settings import Settings


async def _migrate(settings: Settings) -> list[str]:
    db = await Database.connect(settings, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            return await migrate(conn)
    finally:
        await db.close()


def wait_ready(url: str, stop: threading.Event, timeout_s: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set():
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def _bounded(step: Callable[[], object], seconds: float) -> bool:
    """Run one shutdown step in a daemon thread; False when it did not finish in time."""
    worker = threading.Thread(target=step, daemon=True)
    worker.start()
    worker.join(seconds)
    return not worker.is_alive()


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def up(
    settings: Settings,
    host: str,
    port: int,
    demo: bool,
    say: Callable[[str], None] = print,
) -> int:
    stop = threading.Event()
    _on_signals(stop)
    configure_logging(settings.log_level)
    settings, services = ensure_services(settings)
    extras: list[Callable[[], None]] = []
    try:
        applied = asyncio.run(_migrate(settings))
        say(f"database migrated ({len(applied)} new migration(s))")
        apply_serve_tuning(settings.serve_ingress)
        ctx = ray.init(
            namespace="ils",
            dashboard_port=settings.ray_dashboard_port,
            include_dashboard=True,
            log_to_driver=False,
        )
        deploy(settings, host, port)
        work = start_background(settings)  # the LIMS relay and the figures upkeep
        extras.append(lambda: stop_background(work))
        url = f"http://{host}:{port}"
        if demo:
            setup: DemoSetup = asyncio.run(seed_demo(settings))
            extras.extend(setup.start_background(settings, url))
            for line in setup.describe():
                say(line)
        if not wait_ready(url, stop):
            say("ILS did not become ready in time")
            return 1
        say(f"API docs: {url}/docs")
        dashboard = getattr(ctx, "dashboard_url", "") or ""
        if dashboard:
            say(f"Ray dashboard: http://{dashboard}")
        _on_signals(stop)  # again: Ray installs its own SIGTERM handler while starting
        say(f"ILS ready at {url}")
        while not stop.wait(0.5):
            pass
        say("shutting down")
        return 0
    finally:
        for stopper in reversed(extras):
            stopper()
        if ray.is_initialized():
            # A Ctrl-C reaches Ray's own processes too; never let a dead raylet hang the exit.
            if not _bounded(serve.shutdown, 20):
                say("Serve did not shut down in time; stopping Ray")
            _bounded(ray.shutdown, 20)
        services.stop()
        say("stopped")
