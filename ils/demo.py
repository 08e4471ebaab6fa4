"""The demo tenants of `make run`: a lab and a practice that orders from it.

`ils up --demo` also runs the lab simulator as the demo lab's LIMS (``start_background``), and the
demo practice at work: it places orders through the public API at ``demo_orders_per_hour``, so
the demo lab's screens move without anyone ordering.
Seeding is idempotent: the ids and credentials are kept in ``data_dir/demo.json`` so a restart
reuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import httpx
import numpy as np

from ils.db.database import Database
from ils.domain.access import TenantKind
from ils.services.identity import Identity
from ils.services.lims import store_lims
from ils.services.ports import utc_now
from ils.settings import Settings
from ils.sim.lims import LimsConfig
from ils.sim.order_mix import synthetic_draft
from ils.sim.serve import serve_lims

log = logging.getLogger(__name__)

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
        login = (self.practice_email, self.password)
        practice = DemoPractice(api_url, self.lab_id, login, settings.demo_orders_per_hour)
        lims = DemoLims(settings, config, practice)
        lims.start()
        return [lims.stop]


class DemoPractice:
    """The demo practice ordering: Poisson arrivals of orders with the synthetic product mix,
    placed over HTTP as the practice's admin (logging in again when the token expires)."""

    def __init__(
        self,
        api_url: str,
        lab_id: str,
        login: tuple[str, str],
        per_hour: float,
        seed: int | None = None,
    ) -> None:
        self.api_url, self.lab_id, self.per_hour = api_url, lab_id, per_hour
        self.login = {"email": login[0], "password": login[1]}
        self.rng = np.random.default_rng(seed)
        self.placed = 0
        self._token: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        if self.per_hour <= 0:
            return
        async with httpx.AsyncClient(base_url=self.api_url, timeout=30) as client:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    gap = float(self.rng.exponential(3600.0 / self.per_hour))
                    await asyncio.wait_for(stop.wait(), gap)
                    return
                try:
                    await self.place(client)
                except httpx.HTTPError as exc:  # ILS starting or stopping: the next order retries
                    log.info("demo order not placed: %s", exc)

    async def place(self, client: httpx.AsyncClient) -> dict[str, Any] | None:
        """Place one order (None when ILS refused it: logged)."""
        if self._token is None:
            answer = await client.post("/api/auth/login", json=self.login)
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        due = (utc_now() + timedelta(days=7)).date().isoformat()
        body = synthetic_draft(self.rng, self.lab_id, f"DEMO-{self.placed + 1:05d}", due)
        headers = {"Authorization": f"Bearer {self._token}"}
        answer = await client.post("/api/orders", json=body, headers=headers)
        if answer.status_code == 401:
            self._token = None
        if answer.status_code != 201:
            log.warning("demo order refused: %s %s", answer.status_code, answer.text[:300])
            return None
        self.placed += 1
        return dict(answer.json())


class DemoLims:
    """The simulator, and the demo practice ordering from it, on their own thread and event loop
    (``ils up`` is a synchronous driver)."""

    def __init__(
        self, settings: Settings, config: LimsConfig, practice: DemoPractice | None = None
    ) -> None:
        self.settings = settings
        self.config = config
        self.practice = practice
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
            if self.practice is not None:
                await self.practice.run(self._stop)
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
