"""`ils secrets reseal` after a key rotation: TOTP secrets move to the new key."""

from __future__ import annotations

from pydantic import SecretStr

from ils.crypto import unseal
from ils.domain.access import Principal, Role, TenantKind
from ils.runtime import Runtime
from ils.services.mfa import Mfa
from ils.settings import Settings
from tests.integration.conftest import World

OLD, NEW = "old-secret-key-" + "x" * 32, "new-secret-key-" + "y" * 32


async def test_reseal_moves_secrets_to_the_new_key(
    runtime: Runtime, settings: Settings, world: World
) -> None:
    old = settings.model_copy(update={"secret_key": SecretStr(OLD)})
    admin = Principal(world.lab.admin_id, world.lab.tenant_id, TenantKind.LAB, Role.ADMIN)
    enrolled = await Mfa(runtime.db, old).enroll(admin, runtime.clock())
    rotating = settings.model_copy(
        update={"secret_key": SecretStr(NEW), "secret_key_previous": SecretStr(OLD)}
    )
    assert await Mfa(runtime.db, rotating).reseal() == 1
    assert await Mfa(runtime.db, rotating).reseal() == 0
    async with runtime.db.connection() as conn:
        stored = await conn.fetchval("SELECT mfa_secret FROM users WHERE id = $1", admin.user_id)
    new_only = settings.model_copy(update={"secret_key": SecretStr(NEW)})
    assert unseal(new_only, stored) == enrolled["secret"]
