"""The demo tenants of `make run`: a lab and a practice that orders from it.

`ils up --demo` also runs the lab simulator as the demo lab's LIMS (``start_background``).
Seeding is idempotent: the ids and credentials are kept in ``data_dir/demo.json`` so a restart
reuses them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ils.db.database import Database
from ils.domain.access import TenantKind
from ils.services.identity import Identity
from ils.services.lims import store_lims
from ils.services.ports import utc_now
from ils.settings import Settings
from ils.sim.lims import LimsConfig
from ils.sim.serve import serve_lims

LAB_EMAIL = "admin@demo-lab.example"
PRACTICE_EMAIL = "admin@demo-practice.example"
DEMO_PASSWORD = "Demo-Lenses-2026!"


@dataclass
class DemoSetup:
    lab_id: str
    practice_id: str
    webhook_secret: str
    lab_email: str = LAB_EMAIL
    practice_email: str = PRACTICE_EMAIL
    password: str = DEMO_PASSWORD

    def describe(self) -> list[str]:
        return [
            f"demo lab      {self.lab_id}  login {self.lab_email} / {self.password}",
            f"demo practice {self.practice_id}  login {self.practice_email} / {self.password}",
        ]

    def start_background(self, settings: Settings, api_url: str) -> list[Callable[[], None]]:
        """Start the lab simulator as the demo lab's LIMS on ``settings.sim_port`` and point the
        demo lab's LIMS settings at it (a fresh API key each start); return how to stop it."""
        config = LimsConfig(
            ils_base_url=api_url,
            lab_tenant_id=self.lab_id,
            webhook_secret=self.webhook_secret,
            api_key=secrets.token_urlsafe(24),
            host="127.0.0.1",
            port=settings.sim_port,
            speed=settings.sim_speed,
        )
        lims = DemoLims(settings, config)
        lims.start()
        return [lims.stop]


class DemoLims:
    """The simulator on its own thread and event loop (``ils up`` is a synchronous driver)."""

    def __init__(self, settings: Settings, config: LimsConfig) -> None:
        self.settings = settings
        self.config = config
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="demo-lims", daemon=True)

    def start(self, timeout_s: float = 30.0) -> None:
        self._thread.start()
        if not self.ready.wait(timeout_s) or self.error is not None:
            raise RuntimeError(f"the demo LIMS did not start: {self.error!r}")

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); the thread ends either way
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        handle = await serve_lims(self.config)
        try:
            db = await Database.connect(self.settings, min_size=1, max_size=1)
            try:
                await store_lims(
                    db,
                    self.settings,
                    self.config.lab_tenant_id,
                    handle.url,
                    self.config.api_key,
                    None,
                    utc_now(),
                )
            finally:
                await db.close()
            self.ready.set()
            await self._stop.wait()
        finally:
            await handle.stop()


async def seed_demo(settings: Settings) -> DemoSetup:
    path = settings.data_dir / "demo.json"
    if path.exists():
        return DemoSetup(**json.loads(path.read_text()))
    db = await Database.connect(settings, min_size=1, max_size=2)
    try:
        identity = Identity(db, settings)
        now = utc_now()
        lab = await identity.create_tenant(
            TenantKind.LAB, "Demo Lab", LAB_EMAIL, DEMO_PASSWORD, now
        )
        practice = await identity.create_tenant(
            TenantKind.PRACTICE, "Demo Practice", PRACTICE_EMAIL, DEMO_PASSWORD, now
        )
        await identity.link(lab["tenant_id"], practice["tenant_id"], now)
    finally:
        await db.close()
    setup = DemoSetup(lab["tenant_id"], practice["tenant_id"], lab["webhook_secret"])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(setup), indent=2))
    return setup
