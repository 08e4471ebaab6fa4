"""The API deployed on Ray Serve, driven over real HTTP."""

from __future__ import annotations

import httpx

from ils.domain.access import TenantKind
from ils.services.identity import Identity
from ils.settings import Settings
from tests.integration.conftest import PASSWORD, order_body


async def _tenants(settings: Settings) -> tuple[str, str]:
    from ils.db.database import Database
    from ils.services.ports import utc_now

    db = await Database.connect(settings, min_size=1, max_size=1)
    try:
        identity = Identity(db, settings)
        lab = await identity.create_tenant(
            TenantKind.LAB, "Serve Lab", "admin@serve-lab.example", PASSWORD, utc_now()
        )
        practice = await identity.create_tenant(
            TenantKind.PRACTICE,
            "Serve Practice",
            "admin@serve-practice.example",
            PASSWORD,
            utc_now(),
        )
        await identity.link(lab["tenant_id"], practice["tenant_id"], utc_now())
        return lab["tenant_id"], practice["tenant_id"]
    finally:
        await db.close()


async def test_health_docs_and_an_order_round_trip(
    api_url: str, cluster_settings: Settings
) -> None:
    lab_id, practice_id = await _tenants(cluster_settings)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert "/api/orders" in (await client.get("/openapi.json")).json()["paths"]
        assert (await client.get("/docs")).status_code == 200

        login = await client.post(
            "/api/auth/login", json={"email": "admin@serve-practice.example", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = await client.post("/api/orders", json=order_body(lab_id), headers=auth)
        assert created.status_code == 201, created.text
        order = created.json()
        assert order["practice_id"] == practice_id
        again = await client.get(f"/api/orders/{order['id']}", headers=auth)
        assert again.json()["order_number"] == order["order_number"]
        bad = await client.post("/api/orders", json=order_body(lab_id, rx={}), headers=auth)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
