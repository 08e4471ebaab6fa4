"""Rotating the secret key: old sealed values still open and are flagged for re-sealing."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ils.crypto import SealBroken, needs_reseal, seal, unseal
from ils.settings import Settings

OLD, NEW = "old-key-" + "a" * 40, "new-key-" + "b" * 40


def _settings(current: str, previous: str = "") -> Settings:
    return Settings(secret_key=SecretStr(current), secret_key_previous=SecretStr(previous))


def test_previous_key_opens_old_values_during_rotation() -> None:
    old_token = seal(_settings(OLD), "JBSWY3DPEHPK3PXP")
    rotating = _settings(NEW, previous=OLD)
    assert unseal(rotating, old_token) == "JBSWY3DPEHPK3PXP"
    assert needs_reseal(rotating, old_token)
    fresh = seal(rotating, "JBSWY3DPEHPK3PXP")
    assert not needs_reseal(rotating, fresh)
    assert unseal(_settings(NEW), fresh) == "JBSWY3DPEHPK3PXP"


def test_without_the_previous_key_old_values_do_not_open() -> None:
    old_token = seal(_settings(OLD), "secret")
    with pytest.raises(SealBroken):
        unseal(_settings(NEW), old_token)
    with pytest.raises(SealBroken):
        unseal(_settings(NEW, previous=OLD), old_token[:-3] + "AAA")
