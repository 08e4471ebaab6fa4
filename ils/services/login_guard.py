"""Login rate limits and temporary lockout, kept in Redis (ils/bus.py).

Failed attempts are counted per account (the normalised email) and per client address in a
fixed window; reaching the limit sets a lockout flag that expires by itself. While a flag is set,
every attempt is refused with 429 ``locked-out`` and ``Retry-After`` (the flag's remaining
seconds) before the password is even checked, so a locked account cannot be probed.

The guard fails closed: when Redis cannot be reached, ``ils.bus`` raises ``dependency-unavailable``
(503 with ``Retry-After``) and no password is checked, since attempts could not be counted.
"""

from __future__ import annotations

import hashlib

from ils.bus import Bus
from ils.errors import LockedOut
from ils.settings import Settings


def _account(email: str) -> str:
    # Hash the email so Redis keys never hold personal data.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LoginGuard:
    def __init__(self, bus: Bus | None, settings: Settings) -> None:
        self.bus = bus
        self.settings = settings

    def _keys(self, email: str, address: str) -> list[tuple[str, str, int]]:
        """(failure counter, lockout flag, limit) for the account and the address."""
        keys = [
            (
                f"login:fail:acct:{_account(email)}",
                f"login:lock:acct:{_account(email)}",
                self.settings.login_failures_per_account,
            ),
        ]
        if address:
            keys.append(
                (
                    f"login:fail:addr:{address}",
                    f"login:lock:addr:{address}",
                    self.settings.login_failures_per_address,
                )
            )
        return keys

    async def check(self, email: str, address: str) -> None:
        """Refuse at once while the account or the address is locked out."""
        if self.bus is None:
            return
        for _, lock, _ in self._keys(email, address):
            remaining = await self.bus.ttl(lock)
            if remaining > 0:
                raise LockedOut(
                    "too many failed sign-in attempts; try again later", retry_after=remaining
                )

    async def failed(self, email: str, address: str) -> bool:
        """Count a failure; True when it started a lockout."""
        if self.bus is None:
            return False
        locked = False
        for counter, lock, limit in self._keys(email, address):
            count = await self.bus.incr_window(counter, self.settings.login_window_s)
            if count >= limit:
                await self.bus.hold(lock, self.settings.lockout_s)
                await self.bus.forget(counter)
                locked = True
        return locked

    async def succeeded(self, email: str) -> None:
        if self.bus is not None:
            await self.bus.forget(f"login:fail:acct:{_account(email)}")
