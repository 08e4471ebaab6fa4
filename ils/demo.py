"""The demo tenants of `make run`: a lab and a practice that orders from it.

Seeding is idempotent: the ids and credentials are kept in ``data_dir/demo.json`` so a restart
reuses them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ils.db.database import Database
from ils.domain.access import TenantKind
from ils.services.identity import Identity
from ils.services.ports import utc_now
from ils.settings import Settings

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
        """Start what keeps the demo alive (the lab simulator); return the functions to stop it."""
        return []


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
