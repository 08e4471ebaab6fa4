"""Webhook secrets are sealed at rest; rows from before sealing still verify until resealed."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from pydantic import SecretStr

from ils import cli
from ils.crypto import seal, unseal
from ils.runtime import Runtime
from ils.services import webhook_secrets
from ils.services.lims_inbound import rotate_webhook_secret
from tests.integration.conftest import World
from tests.integration.lims_inbound.conftest import Lims, place_order
from tests.integration.webhook_security.conftest import stored_secrets

OLD, NEW = "old-secret-key-" + "a" * 32, "new-secret-key-" + "b" * 32


async def test_a_new_lab_stores_its_secret_sealed(runtime: Runtime, world: World) -> None:
    current, previous = await stored_secrets(runtime, world.lab.tenant_id)
    assert current is not None and current.startswith("v1.") and previous is None
    assert world.lab.webhook_secret is not None and world.lab.webhook_secret not in current
    assert unseal(runtime.settings, current) == world.lab.webhook_secret


async def test_rotation_stores_both_secrets_sealed(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    lab = world.lab.tenant_id
    new = await rotate_webhook_secret(runtime.db, runtime.settings, lab, runtime.clock())
    current, previous = await stored_secrets(runtime, lab)
    assert current is not None and previous is not None
    assert unseal(runtime.settings, current) == new
    assert unseal(runtime.settings, previous) == world.lab.webhook_secret
    order = await place_order(lims.client, world)
    accepted = await lims.post(lims.event(order["id"], "job.accepted"), secret=new)
    assert accepted.status_code == 200, accepted.text


async def test_a_plaintext_row_verifies_until_resealed(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    lab, plain = world.lab.tenant_id, world.lab.webhook_secret
    assert plain is not None
    async with runtime.db.connection() as conn:  # a row written before secrets were sealed
        await conn.execute("UPDATE tenants SET webhook_secret = $2 WHERE id = $1", lab, plain)
    order = await place_order(lims.client, world)
    first = await lims.post(lims.event(order["id"], "job.accepted"))
    assert first.status_code == 200, first.text

    assert await webhook_secrets.reseal(runtime.db, runtime.settings) == 1
    assert await webhook_secrets.reseal(runtime.db, runtime.settings) == 0
    current, _ = await stored_secrets(runtime, lab)
    assert current is not None and current.startswith("v1.")
    assert unseal(runtime.settings, current) == plain
    again = await lims.post(lims.event(order["id"], "job.released"))
    assert again.status_code == 200, again.text


async def test_reseal_moves_webhook_secrets_to_the_new_key(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    lab, plain = world.lab.tenant_id, world.lab.webhook_secret
    assert plain is not None
    old = runtime.settings.model_copy(update={"secret_key": SecretStr(OLD)})
    async with runtime.db.connection() as conn:
        await conn.execute(
            "UPDATE tenants SET webhook_secret = $2 WHERE id = $1", lab, seal(old, plain)
        )
    rotating = runtime.settings.model_copy(
        update={"secret_key": SecretStr(NEW), "secret_key_previous": SecretStr(OLD)}
    )
    assert await webhook_secrets.reseal(runtime.db, rotating) == 1
    assert await webhook_secrets.reseal(runtime.db, rotating) == 0
    current, _ = await stored_secrets(runtime, lab)
    new_only = runtime.settings.model_copy(update={"secret_key": SecretStr(NEW)})
    assert current is not None and unseal(new_only, current) == plain


async def test_a_secret_no_key_opens_refuses_the_webhook(
    runtime: Runtime, world: World, lims: Lims
) -> None:
    lab = world.lab.tenant_id
    other = runtime.settings.model_copy(update={"secret_key": SecretStr(OLD)})
    async with runtime.db.connection() as conn:
        await conn.execute(
            "UPDATE tenants SET webhook_secret = $2 WHERE id = $1", lab, seal(other, "x" * 64)
        )
    order = await place_order(lims.client, world)
    refused = await lims.post(lims.event(order["id"], "job.accepted"), secret="x" * 64)
    assert refused.status_code == 401
    assert refused.json()["type"] == "/problems/bad-signature"


async def _write_plaintext(dsn: str, lab_id: str, secret: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE tenants SET webhook_secret = $2 WHERE id = $1", lab_id, secret)
    finally:
        await conn.close()


def test_cli_reseal_seals_webhook_secrets(
    world: World,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ILS_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("ILS_REDIS_URL", runtime.settings.redis_url)
    monkeypatch.setenv("ILS_DATA_DIR", str(runtime.settings.data_dir))
    assert world.lab.webhook_secret is not None
    dsn = runtime.settings.database_url
    asyncio.run(_write_plaintext(dsn, world.lab.tenant_id, world.lab.webhook_secret))
    assert cli.main(["secrets", "reseal"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"mfa_secrets_resealed": 0, "webhook_secrets_resealed": 1}
    assert cli.main(["secrets", "reseal"]) == 0
    assert json.loads(capsys.readouterr().out)["webhook_secrets_resealed"] == 0
