"""Root-cause analysis: the workflow of an RCA record and its categories (the 6 M's).

``open -> investigating -> corrective_action -> verified -> closed``. A step back is allowed only
from ``verified`` to ``corrective_action`` (verification showed the action did not work) and from
``corrective_action`` to ``investigating`` (the cause was wrong). Moving to ``corrective_action``
needs a stated root cause; moving to ``verified`` needs at least one corrective action; verifying
and closing are approvals (``Permission.QC_APPROVE``), the other steps are ordinary QC work.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ils.errors import InvalidTransition


class RcaStatus(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    CORRECTIVE_ACTION = "corrective_action"
    VERIFIED = "verified"
    CLOSED = "closed"


class RcaCategory(StrEnum):
    METHOD = "method"
    MACHINE = "machine"
    MATERIAL = "material"
    PEOPLE = "people"
    MEASUREMENT = "measurement"
    ENVIRONMENT = "environment"


R = RcaStatus
NEXT: dict[RcaStatus, frozenset[RcaStatus]] = {
    R.OPEN: frozenset({R.INVESTIGATING}),
    R.INVESTIGATING: frozenset({R.CORRECTIVE_ACTION}),
    R.CORRECTIVE_ACTION: frozenset({R.VERIFIED, R.INVESTIGATING}),
    R.VERIFIED: frozenset({R.CLOSED, R.CORRECTIVE_ACTION}),
    R.CLOSED: frozenset(),
}
APPROVALS = frozenset({R.VERIFIED, R.CLOSED})


@dataclass(frozen=True)
class RcaFacts:
    """What the workflow checks besides the status: a root cause and the actions taken."""

    root_cause: str | None
    actions: int


def needs_approval(to: RcaStatus) -> bool:
    return to in APPROVALS


def advance(current: RcaStatus, to: RcaStatus, facts: RcaFacts) -> RcaStatus:
    """The new status, or ``InvalidTransition`` naming the allowed targets."""
    allowed = sorted(str(s) for s in NEXT[current])
    if to not in NEXT[current]:
        raise InvalidTransition(f"an RCA cannot move from {current} to {to}", allowed=allowed)
    if to is R.CORRECTIVE_ACTION and not (facts.root_cause or "").strip():
        raise InvalidTransition("state the root cause before corrective action", allowed=allowed)
    if to is R.VERIFIED and facts.actions == 0:
        raise InvalidTransition("record a corrective action before verifying", allowed=allowed)
    return to
