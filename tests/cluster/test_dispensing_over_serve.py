"""The dispensing assistant on Ray Serve, over real HTTP: a lab's catalog, a practice's question."""

from __future__ import annotations

import httpx

from ils.settings import Settings
from tests.cluster.test_api_over_serve import _tenants
from tests.integration.conftest import PASSWORD
from tests.integration.test_catalog_api import STARTER
from tests.integration.test_dispensing_api import request


async def _auth(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_a_practice_gets_tiers_from_its_labs_catalog(
    api_url: str, cluster_settings: Settings
) -> None:
    lab_id, _ = await _tenants(cluster_settings)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        lab = await _auth(client, "admin@serve-lab.example")
        practice = await _auth(client, "admin@serve-practice.example")
        stored = await client.put("/api/catalog/products", json={"products": STARTER}, headers=lab)
        assert stored.status_code == 200, stored.text
        answer = await client.post(
            "/api/ai/dispensing-recommendations", json=request(), headers=practice
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["lab_id"] == lab_id
        assert body["tiers"]["good"]["product_id"] == "PAL-160"
        assert body["catalog"]["products"] == len(STARTER)
