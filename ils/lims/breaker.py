"""A circuit breaker per lab: closed, open, half-open with a limited number of probes.

Written here rather than taken from pybreaker, purgatory or aiobreaker because those keep their
own wall clock and their own storage, and wrap the call themselves. The relay needs a value it can
decide on with ``now`` as an argument (deterministic tests, no sleeping), persist as a snapshot
for ``GET /api/lab/lims``, and consult *before* it claims outbox rows (so an open breaker claims
nothing). The whole machine is the immutable :class:`Breaker` below.

- closed: every call goes through; ``failure_threshold`` consecutive failures open it.
- open: nothing goes through until ``open_s`` has passed since it opened; then it is half-open.
- half-open: at most ``probes`` trial calls go through; that many successes close it, any failure
  opens it again (for another ``open_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    open_s: float = 30.0
    probes: int = 2


@dataclass(frozen=True)
class Breaker:
    policy: BreakerPolicy = BreakerPolicy()
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # consecutive failures while closed
    opened_at: datetime | None = None
    probes_started: int = 0
    probes_passed: int = 0
    changed_at: datetime | None = None

    def current(self, now: datetime) -> Breaker:
        """The breaker as it is at ``now``: an open breaker whose time is up is half-open."""
        if (
            self.state is BreakerState.OPEN
            and self.reopens_at is not None
            and now >= self.reopens_at
        ):
            return replace(
                self,
                state=BreakerState.HALF_OPEN,
                probes_started=0,
                probes_passed=0,
                changed_at=now,
            )
        return self

    @property
    def reopens_at(self) -> datetime | None:
        """When an open breaker lets probes through (None unless open)."""
        if self.state is not BreakerState.OPEN or self.opened_at is None:
            return None
        return self.opened_at + timedelta(seconds=self.policy.open_s)

    def budget(self, now: datetime, wanted: int) -> int:
        """How many of ``wanted`` calls may start now (0 while open)."""
        state = self.current(now)
        if state.state is BreakerState.CLOSED:
            return wanted
        if state.state is BreakerState.OPEN:
            return 0
        return max(0, min(wanted, self.policy.probes - state.probes_started))

    def started(self, now: datetime) -> Breaker:
        """Record that one call starts (counts as a probe while half-open)."""
        state = self.current(now)
        if state.state is BreakerState.HALF_OPEN:
            return replace(state, probes_started=state.probes_started + 1)
        return state

    def succeeded(self, now: datetime) -> Breaker:
        state = self.current(now)
        if state.state is BreakerState.HALF_OPEN:
            passed = state.probes_passed + 1
            if passed >= self.policy.probes:
                return Breaker(self.policy, changed_at=now)
            return replace(state, probes_passed=passed)
        if state.state is BreakerState.CLOSED and state.failures:
            return replace(state, failures=0)
        return state

    def failed(self, now: datetime) -> Breaker:
        state = self.current(now)
        if state.state is BreakerState.CLOSED:
            failures = state.failures + 1
            if failures < self.policy.failure_threshold:
                return replace(state, failures=failures)
        elif state.state is BreakerState.OPEN:
            return state  # a late answer of a call started before it opened
        return Breaker(
            self.policy,
            BreakerState.OPEN,
            failures=max(state.failures + 1, self.policy.failure_threshold),
            opened_at=now,
            changed_at=now,
        )

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """What ``GET /api/lab/lims`` shows, as JSON-ready values."""
        state = self.current(now)
        reopens = state.reopens_at
        return {
            "state": str(state.state),
            "consecutive_failures": state.failures,
            "opened_at": state.opened_at.isoformat() if state.opened_at else None,
            "half_open_at": reopens.isoformat() if reopens else None,
            "probes_started": state.probes_started,
            "probes_passed": state.probes_passed,
            "probes_allowed": self.policy.probes,
            "changed_at": state.changed_at.isoformat() if state.changed_at else None,
        }

    @classmethod
    def from_snapshot(cls, policy: BreakerPolicy, snap: dict[str, Any] | None) -> Breaker:
        """The breaker a snapshot describes (a relay restarts with its labs' breakers)."""
        if not snap:
            return cls(policy)

        def at(key: str) -> datetime | None:
            value = snap.get(key)
            return datetime.fromisoformat(value) if isinstance(value, str) else None

        state = BreakerState(snap.get("state", "closed"))
        if state is BreakerState.OPEN and at("opened_at") is None:
            state = BreakerState.CLOSED
        return cls(
            policy,
            state,
            failures=int(snap.get("consecutive_failures", 0)),
            opened_at=at("opened_at"),
            probes_started=int(snap.get("probes_started", 0)),
            probes_passed=int(snap.get("probes_passed", 0)),
            changed_at=at("changed_at"),
        )
