"""The RCA workflow: its steps, the facts each step needs, and who approves."""

from __future__ import annotations

from itertools import pairwise

import pytest

from ils.domain.rca import RcaFacts, RcaStatus, advance, needs_approval
from ils.errors import InvalidTransition

S = RcaStatus
READY = RcaFacts(root_cause="worn wheel", actions=1)


def test_the_happy_path_and_the_steps_back() -> None:
    path = [S.OPEN, S.INVESTIGATING, S.CORRECTIVE_ACTION, S.VERIFIED, S.CLOSED]
    for current, to in pairwise(path):
        assert advance(current, to, READY) is to
    assert advance(S.VERIFIED, S.CORRECTIVE_ACTION, READY) is S.CORRECTIVE_ACTION
    assert advance(S.CORRECTIVE_ACTION, S.INVESTIGATING, READY) is S.INVESTIGATING


@pytest.mark.parametrize(
    ("current", "to", "facts", "allowed"),
    [
        (S.OPEN, S.VERIFIED, READY, ["investigating"]),
        (S.CLOSED, S.OPEN, READY, []),
        (S.INVESTIGATING, S.CORRECTIVE_ACTION, RcaFacts(" ", 0), ["corrective_action"]),
        (S.CORRECTIVE_ACTION, S.VERIFIED, RcaFacts("x", 0), ["investigating", "verified"]),
    ],
)
def test_refused_moves_name_the_allowed_targets(
    current: RcaStatus, to: RcaStatus, facts: RcaFacts, allowed: list[str]
) -> None:
    with pytest.raises(InvalidTransition) as caught:
        advance(current, to, facts)
    assert caught.value.extra["allowed"] == allowed


def test_verifying_and_closing_are_approvals() -> None:
    assert [s for s in S if needs_approval(s)] == [S.VERIFIED, S.CLOSED]
