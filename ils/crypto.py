"""Secrets at rest: ``seal`` / ``unseal`` with AES-256-GCM under a key derived from the settings.

The key is HKDF-SHA256 over ``settings.secret_key`` (or, in development when it is empty, over
the absolute data directory, as Settings documents). A sealed value is ``v1.<base64url(nonce ||
ciphertext+tag)>``: the version prefix lets a later key (rotation, a KMS) sit beside this one.
The ``cryptography`` package does the cryptography; this module only fixes the format.
"""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ils.settings import Settings

VERSION = "v1"
_INFO = b"ils seal v1"
_NONCE_BYTES = 12


class SealBroken(ValueError):
    """A sealed value that this key cannot open (wrong key, tampered, or not a sealed value)."""


@functools.lru_cache(maxsize=16)
def _derived(secret: bytes) -> bytes:
    """The AES key of a configured secret (derived once: every webhook's verification opens
    its lab's sealed secret)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)


@functools.lru_cache(maxsize=16)
def _development_secret(data_dir: Path) -> bytes:
    return f"ils-development:{data_dir.resolve()}".encode()


def _key(settings: Settings) -> bytes:
    secret = settings.secret_key.get_secret_value().encode()
    return _derived(secret or _development_secret(settings.data_dir.absolute()))


def _previous_key(settings: Settings) -> bytes | None:
    """The key before the last rotation (``ILS_SECRET_KEY_PREVIOUS``), if one is configured."""
    secret = settings.secret_key_previous.get_secret_value().encode()
    if not secret:
        return None
    return _derived(secret)


def seal(settings: Settings, plaintext: str) -> str:
    """Encrypt and authenticate ``plaintext``; every call uses a fresh random nonce."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(settings)).encrypt(nonce, plaintext.encode(), VERSION.encode())
    return f"{VERSION}." + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(settings: Settings, token: str) -> str:
    """The plaintext of a value made by :func:`seal`; :class:`SealBroken` if it cannot be opened."""
    version, _, body = token.partition(".")
    if version != VERSION or not body:
        raise SealBroken("not a sealed value of a known version")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise SealBroken("the sealed value does not open with this key") from exc
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    # During a key rotation the previous key still opens what was sealed before it.
    for key in (_key(settings), _previous_key(settings)):
        if key is None:
            continue
        try:
            return AESGCM(key).decrypt(nonce, sealed, VERSION.encode()).decode()
        except (InvalidTag, ValueError):
            continue
    raise SealBroken("the sealed value does not open with this key")


def needs_reseal(settings: Settings, token: str) -> bool:
    """True when ``token`` opens only with the previous key (re-seal it under the current one)."""
    body = token.partition(".")[2]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        AESGCM(_key(settings)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], VERSION.encode())
    except (InvalidTag, ValueError):
        return True
    return False
