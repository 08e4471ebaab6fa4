"""The order state machine: the graph, the permission matrix per actor, holds and ranks."""

from __future__ import annotations

import pytest

from ils.domain.order_status import (
    ORDER,
    TERMINAL,
    OrderState,
    OrderStatus,
    allowed_targets,
    is_backward,
    is_forward,
    is_rework,
    rank,
    transition,
)
from ils.domain.role import Actor, Role, TenantKind
from ils.errors import InvalidTransition

S = OrderStatus
P, IP, QC, SH, CO, H, CA = (
    S.PENDING,
    S.IN_PRODUCTION,
    S.QUALITY_CHECK,
    S.SHIPPED,
    S.COMPLETED,
    S.ON_HOLD,
    S.CANCELLED,
)


def held(status: OrderStatus) -> OrderState:
    return OrderState(H, held_from=status)


STATES: dict[str, OrderState] = {
    "pending": OrderState(P),
    "in_production": OrderState(IP),
    "quality_check": OrderState(QC),
    "shipped": OrderState(SH),
    "completed": OrderState(CO),
    "cancelled": OrderState(CA),
    "held_pending": held(P),
    "held_in_production": held(IP),
    "held_quality_check": held(QC),
    "held_shipped": held(SH),
}

SYSTEM = {
    "pending": {IP, H, CA},
    "in_production": {QC, H, CA},
    "quality_check": {SH, IP, H, CA},
    "shipped": {CO, H},
    "completed": set(),
    "cancelled": set(),
    "held_pending": {P, CA},
    "held_in_production": {IP, CA},
    "held_quality_check": {QC, CA},
    "held_shipped": {SH},
}
LAB_TECH = {state: targets - {CA} for state, targets in SYSTEM.items()}
LAB_ENGINEER = {
    **{state: set() for state in SYSTEM},
    "pending": {H},
    "in_production": {H},
    "quality_check": {IP, H},
    "shipped": {H},
}
PRACTICE = {
    **{state: set() for state in SYSTEM},
    "pending": {H, CA},
    "shipped": {CO},
    "held_pending": {P, CA},
    "held_in_production": {CA},
    "held_quality_check": {CA},
}
NOTHING = {state: set() for state in SYSTEM}

MATRIX: list[tuple[Actor | None, dict[str, set[OrderStatus]]]] = [
    (None, SYSTEM),
    (Actor(TenantKind.LAB, Role.ADMIN), SYSTEM),
    (Actor(TenantKind.LAB, Role.LAB_TECH), LAB_TECH),
    (Actor(TenantKind.LAB, Role.ENGINEER), LAB_ENGINEER),
    (Actor(TenantKind.LAB, Role.SUPPLIER), NOTHING),
    (Actor(TenantKind.LAB, Role.ECP), NOTHING),
    (Actor(TenantKind.PRACTICE, Role.ADMIN), PRACTICE),
    (Actor(TenantKind.PRACTICE, Role.ECP), PRACTICE),
    (Actor(TenantKind.PRACTICE, Role.LAB_TECH), NOTHING),
    (Actor(TenantKind.PRACTICE, Role.SUPPLIER), NOTHING),
]
CASES = [
    (actor, name, to, to in expected[name])
    for actor, expected in MATRIX
    for name in STATES
    for to in OrderStatus
]


def _id(actor: Actor | None) -> str:
    return "system" if actor is None else f"{actor.tenant_kind}-{actor.role}"


@pytest.mark.parametrize(("actor", "expected"), MATRIX, ids=[_id(a) for a, _ in MATRIX])
def test_allowed_targets_per_actor(
    actor: Actor | None, expected: dict[str, set[OrderStatus]]
) -> None:
    for name, state in STATES.items():
        assert allowed_targets(state, actor) == expected[name], name


@pytest.mark.parametrize(
    ("actor", "name", "to", "allowed"),
    CASES,
    ids=[f"{_id(a)}:{n}->{t}" for a, n, t, _ in CASES],
)
def test_every_transition_per_actor(
    actor: Actor | None, name: str, to: OrderStatus, allowed: bool
) -> None:
    state = STATES[name]
    if allowed:
        after = transition(state, to, actor)
        assert after.status is to
        assert after.held_from == (state.status if to is H else None)
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(state, to, actor)
        problem = caught.value.problem()
        assert problem["status"] == 409
        assert problem["type"] == "/problems/invalid-transition"
        assert problem["allowed"] == sorted(str(s) for s in allowed_targets(state, actor))
        assert problem["current"] == state.status


def test_hold_returns_to_the_state_it_left() -> None:
    lab = Actor(TenantKind.LAB, Role.LAB_TECH)
    state = transition(OrderState(P), IP, lab)
    state = transition(state, QC, lab)
    state = transition(state, H, lab)
    assert state == OrderState(H, held_from=QC)
    with pytest.raises(InvalidTransition) as caught:
        transition(state, SH, lab)
    assert caught.value.extra["allowed"] == ["quality_check"]
    assert transition(state, QC, lab) == OrderState(QC)


def test_failed_inspection_goes_back_to_production_then_on() -> None:
    lab = Actor(TenantKind.LAB, Role.ADMIN)
    state = transition(OrderState(QC), IP, lab)
    assert state == OrderState(IP)
    assert transition(transition(state, QC, lab), SH, lab) == OrderState(SH)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_nothing_leaves_a_terminal_status(terminal: OrderStatus) -> None:
    assert allowed_targets(OrderState(terminal)) == frozenset()
    for to in OrderStatus:
        with pytest.raises(InvalidTransition):
            transition(OrderState(terminal), to)


@pytest.mark.parametrize(("status", "held_from"), [(H, None), (P, IP), (H, H), (H, CO), (H, CA)])
def test_inconsistent_states_are_refused(
    status: OrderStatus, held_from: OrderStatus | None
) -> None:
    with pytest.raises(ValueError):
        OrderState(status, held_from)


def test_rank_follows_the_main_line() -> None:
    assert [rank(s) for s in ORDER] == [0, 1, 2, 3, 4]
    assert rank(CA) == 5
    assert rank(held(QC)) == rank(QC)
    with pytest.raises(ValueError):
        rank(H)


@pytest.mark.parametrize(
    ("current", "to", "forward", "backward"),
    [
        (OrderState(P), IP, True, False),
        (OrderState(P), SH, True, False),
        (OrderState(SH), IP, False, True),
        (OrderState(QC), IP, False, True),
        (OrderState(IP), IP, False, False),
        (OrderState(IP), H, False, False),
        (held(IP), IP, False, False),
        (held(IP), QC, True, False),
        (held(QC), P, False, True),
        (OrderState(SH), CA, True, False),
        (OrderState(CO), CA, False, False),
        (OrderState(CA), P, False, True),
        (OrderState(CO), SH, False, True),
    ],
)
def test_forward_and_backward(
    current: OrderState, to: OrderStatus, forward: bool, backward: bool
) -> None:
    assert is_forward(current, to) is forward
    assert is_backward(current, to) is backward
    assert is_forward(current.status if current.status is not H else current, to) is forward


def test_rework_is_the_one_allowed_backward_move() -> None:
    assert is_rework(QC, IP)
    assert is_rework(held(QC), IP)
    assert not is_rework(SH, IP)
    assert not is_rework(QC, P)
