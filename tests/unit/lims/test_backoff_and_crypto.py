"""Outbox backoff (full jitter, Retry-After floor) and secrets sealed at rest."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pydantic import SecretStr

from ils.crypto import SealBroken, seal, unseal
from ils.lims.backoff import Backoff
from ils.settings import Settings


def test_full_jitter_stays_under_the_exponential_ceiling_and_the_cap() -> None:
    backoff, rng = Backoff(base_s=1.0, cap_s=20.0), random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(20.0, 2 ** (attempt - 1))
        draws = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling  # spreads over the whole range, not a fixed delay


def test_retry_after_is_a_floor() -> None:
    backoff, rng = Backoff(base_s=0.1, cap_s=1.0), random.Random(1)
    assert all(backoff.delay(3, rng, at_least_s=30.0) == 30.0 for _ in range(50))


def _settings(key: str, tmp: Path) -> Settings:
    return Settings(secret_key=SecretStr(key), data_dir=tmp)


def test_seal_round_trips_and_hides_the_plaintext(tmp_path: Path) -> None:
    settings = _settings("k" * 43, tmp_path)
    token = seal(settings, "lims-api-key-123")
    assert token.startswith("v1.") and "lims-api-key-123" not in token
    assert seal(settings, "lims-api-key-123") != token  # fresh nonce each time
    assert unseal(settings, token) == "lims-api-key-123"


def test_another_key_or_a_tampered_token_does_not_open(tmp_path: Path) -> None:
    token = seal(_settings("a" * 43, tmp_path), "secret")
    with pytest.raises(SealBroken):
        unseal(_settings("b" * 43, tmp_path), token)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(SealBroken):
        unseal(_settings("a" * 43, tmp_path), tampered)
    with pytest.raises(SealBroken):
        unseal(_settings("a" * 43, tmp_path), "plaintext")


def test_development_key_comes_from_the_data_dir(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    token = seal(_settings("", one), "x")
    assert unseal(_settings("", one), token) == "x"
    with pytest.raises(SealBroken):
        unseal(_settings("", two), token)
