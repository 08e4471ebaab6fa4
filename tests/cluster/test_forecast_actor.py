"""The ForecastModel actor behind the API on Serve: fits off the request path, survives a kill."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from ils.domain.access import TenantKind
from ils.services.identity import Identity
from ils.settings import Settings
from ils.sim.demand import daily_order_history
from tests.integration.conftest import PASSWORD

EMAIL = "admin@forecast-lab.example"


async def _lab(settings: Settings) -> str:
    from ils.db.database import Database
    from ils.services.ports import utc_now

    db = await Database.connect(settings, min_size=1, max_size=1)
    try:
        made = await Identity(db, settings).create_tenant(
            TenantKind.LAB, "Forecast Lab", EMAIL, PASSWORD, utc_now()
        )
        return str(made["tenant_id"])
    finally:
        await db.close()


async def _status_after(client: httpx.AsyncClient, auth: dict[str, str], wanted: str) -> Any:
    for _ in range(120):
        response = await client.get("/api/ai/demand-forecast?days=7", headers=auth)
        assert response.status_code == 200, response.text
        if response.json()["model"]["status"] == wanted:
            return response.json()
        await asyncio.sleep(0.5)
    raise AssertionError(f"the model never became {wanted}")


async def test_forecast_actor_fits_in_the_background_and_restarts(
    api_url: str, cluster_settings: Settings
) -> None:
    import ray

    lab_id = await _lab(cluster_settings)
    start = datetime.now(UTC).date() - timedelta(days=150)
    rows = daily_order_history(start, 150, "US", 120.0, np.random.default_rng(5))
    days = [{"date": d.isoformat(), "orders": n} for d, n in rows]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        login = await client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        put = await client.put("/api/ai/demand-history", json={"days": days}, headers=auth)
        assert put.status_code == 200, put.text
        assert put.json()["model"]["status"] == "provisional"
        current = await _status_after(client, auth, "current")
        assert current["model"]["history_days"] == 150

        actor = ray.get_actor(f"forecast:{lab_id}", namespace="ils")
        assert ray.get(actor.status.remote())["model"] == current["model"]["name"]
        ray.kill(actor, no_restart=False)
        again = await client.get("/api/ai/demand-forecast?days=7", headers=auth)
        assert again.status_code == 200, again.text
        assert again.json()["model"]["status"] in ("provisional", "current")
        await _status_after(client, auth, "current")
