"""The order's lifecycle: seven statuses, the transitions between them and who may make them.

DOMAIN.md "Order statuses": ``pending -> in_production -> quality_check -> shipped -> completed``,
plus ``on_hold`` (returns to the state it left) and ``cancelled`` (terminal). A failed inspection
goes back from ``quality_check`` to ``in_production``; nothing leaves ``completed`` or
``cancelled`` (returns and non-adapts create a linked remake order instead).

Transition graph (any actor, before permissions):

=============== ==========================================================
from            to
=============== ==========================================================
pending         in_production, on_hold, cancelled
in_production   quality_check, on_hold, cancelled
quality_check   shipped, in_production (failed inspection), on_hold, cancelled
shipped         completed, on_hold (e.g. a return under review in transit)
on_hold         the status it left (release); cancelled if it left before shipping
completed       (terminal)
cancelled       (terminal)
=============== ==========================================================

Manual transitions by role (:data:`MANUAL_TRANSITIONS`; the system, i.e. LIMS events and ILS's
own outbox, passes ``actor=None`` and may make every transition of the graph):

- practice admin / ecp: hold and release an order that is still ``pending``; cancel it while
  ``pending`` or on hold (before shipping); mark a ``shipped`` order ``completed`` (dispensed).
- lab admin: every transition of the graph (production moves, hold, release, cancel, failed
  inspection, delivered).
- lab lab_tech: the production moves, failed inspection, hold and release; not cancel (an admin
  decision: it voids the practice's order).
- lab engineer: hold any open order and send a failed inspection back to production.
- supplier, and practice roles other than admin / ecp: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ils.domain.role import Actor, Role, TenantKind
from ils.errors import InvalidTransition


class OrderStatus(StrEnum):
    PENDING = "pending"
    IN_PRODUCTION = "in_production"
    QUALITY_CHECK = "quality_check"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


S = OrderStatus

#: The main line, in order: an order only ever moves forward along it (except rework).
ORDER: tuple[OrderStatus, ...] = (
    S.PENDING,
    S.IN_PRODUCTION,
    S.QUALITY_CHECK,
    S.SHIPPED,
    S.COMPLETED,
)
TERMINAL = frozenset({S.COMPLETED, S.CANCELLED})
#: Statuses from which an order may still be cancelled (DOMAIN.md: cancel before shipping).
CANCELLABLE_FROM = frozenset({S.PENDING, S.IN_PRODUCTION, S.QUALITY_CHECK})
#: Statuses that may be put on hold (and released back to).
HOLDABLE = frozenset({S.PENDING, S.IN_PRODUCTION, S.QUALITY_CHECK, S.SHIPPED})

#: Forward moves and the rework loop, excluding hold, release and cancel.
_MOVES: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.IN_PRODUCTION}),
    S.IN_PRODUCTION: frozenset({S.QUALITY_CHECK}),
    S.QUALITY_CHECK: frozenset({S.SHIPPED, S.IN_PRODUCTION}),
    S.SHIPPED: frozenset({S.COMPLETED}),
}


@dataclass(frozen=True)
class OrderState:
    """An order's status and, while on hold, the status it left (``held_from``)."""

    status: OrderStatus
    held_from: OrderStatus | None = None

    def __post_init__(self) -> None:
        on_hold = self.status is S.ON_HOLD
        if on_hold != (self.held_from is not None) or self.held_from not in HOLDABLE | {None}:
            raise ValueError(f"inconsistent order state {self.status}/{self.held_from}")

    @property
    def effective(self) -> OrderStatus:
        """The main-line status: the held-from status while on hold."""
        return self.held_from if self.held_from is not None else self.status


class Move(StrEnum):
    """The kinds of transition the permission matrix grants."""

    ADVANCE = "advance"  # a forward move along the main line
    REWORK = "rework"  # quality_check -> in_production after a failed inspection
    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"
    COMPLETE = "complete"  # shipped -> completed (delivered / dispensed)


def graph_targets(state: OrderState) -> frozenset[OrderStatus]:
    """Every status the order may move to, whoever asks."""
    if state.status in TERMINAL:
        return frozenset()
    if state.status is S.ON_HOLD:
        assert state.held_from is not None
        cancel = {S.CANCELLED} if state.held_from in CANCELLABLE_FROM else set()
        return frozenset({state.held_from, *cancel})
    targets = set(_MOVES[state.status]) | {S.ON_HOLD}
    if state.status in CANCELLABLE_FROM:
        targets.add(S.CANCELLED)
    return frozenset(targets)


def move_of(state: OrderState, to: OrderStatus) -> Move:
    """Which kind of move ``state -> to`` is (for a target in :func:`graph_targets`)."""
    if state.status is S.ON_HOLD:
        return Move.CANCEL if to is S.CANCELLED else Move.RELEASE
    if to is S.ON_HOLD:
        return Move.HOLD
    if to is S.CANCELLED:
        return Move.CANCEL
    if to is S.COMPLETED:
        return Move.COMPLETE
    if state.status is S.QUALITY_CHECK and to is S.IN_PRODUCTION:
        return Move.REWORK
    return Move.ADVANCE


_PRACTICE = frozenset({Move.HOLD, Move.RELEASE, Move.CANCEL, Move.COMPLETE})
_LAB_ADMIN = frozenset(Move)
_LAB_TECH = frozenset({Move.ADVANCE, Move.REWORK, Move.HOLD, Move.RELEASE, Move.COMPLETE})
_LAB_ENGINEER = frozenset({Move.HOLD, Move.REWORK})

#: (tenant kind, role) -> kinds of move allowed. Practice moves are further limited to orders the
#: lab has not started (see :func:`_practice_may`). A pair missing here may make no transition.
MANUAL_TRANSITIONS: dict[tuple[TenantKind, Role], frozenset[Move]] = {
    (TenantKind.PRACTICE, Role.ADMIN): _PRACTICE,
    (TenantKind.PRACTICE, Role.ECP): _PRACTICE,
    (TenantKind.LAB, Role.ADMIN): _LAB_ADMIN,
    (TenantKind.LAB, Role.LAB_TECH): _LAB_TECH,
    (TenantKind.LAB, Role.ENGINEER): _LAB_ENGINEER,
}


def _practice_may(state: OrderState, move: Move) -> bool:
    """A practice holds and releases only a pending order, cancels only a pending or held one."""
    if move in (Move.HOLD, Move.RELEASE):
        return state.effective is S.PENDING
    if move is Move.CANCEL:
        return state.status in (S.PENDING, S.ON_HOLD)
    return move is Move.COMPLETE


def may(state: OrderState, to: OrderStatus, actor: Actor | None) -> bool:
    """Whether ``actor`` (None = the system) may move the order from ``state`` to ``to``."""
    if to not in graph_targets(state):
        return False
    if actor is None:
        return True
    move = move_of(state, to)
    if move not in MANUAL_TRANSITIONS.get((actor.tenant_kind, actor.role), frozenset()):
        return False
    return actor.tenant_kind is TenantKind.LAB or _practice_may(state, move)


def allowed_targets(state: OrderState, actor: Actor | None = None) -> frozenset[OrderStatus]:
    """The statuses ``actor`` (None = the system) may move the order to now."""
    return frozenset(to for to in graph_targets(state) if may(state, to, actor))


def transition(state: OrderState, to: OrderStatus, actor: Actor | None = None) -> OrderState:
    """The order's state after moving to ``to``; :class:`InvalidTransition` if not allowed.

    Holding records the status left; releasing returns to it. The error names the targets the
    actor may choose instead (``allowed``), as API.md's 409 ``invalid-transition`` requires.
    """
    if not may(state, to, actor):
        allowed = allowed_targets(state, actor)
        who = "the system" if actor is None else f"a {actor.tenant_kind} {actor.role}"
        raise InvalidTransition(
            f"{who} may not move an order from {state.status} to {to}",
            allowed=[str(s) for s in allowed],
            current=str(state.status),
        )
    if to is S.ON_HOLD:
        return OrderState(S.ON_HOLD, held_from=state.status)
    return OrderState(to)


def rank(state: OrderState | OrderStatus) -> int:
    """Position along the main line; on hold ranks as the status it left, cancelled last."""
    status = _as_state(state).effective
    return len(ORDER) if status is S.CANCELLED else ORDER.index(status)


def is_forward(current: OrderState | OrderStatus, to: OrderStatus) -> bool:
    """True when ``to`` is further along the main line than ``current``.

    Holding and releasing keep the rank (neither forward nor backward); nothing is forward of a
    terminal status. A late LIMS event must never move an order backwards: callers apply an event
    only when it is forward, a hold or release, or the rework of a failed inspection
    (:func:`is_rework`).
    """
    state = _as_state(current)
    if state.status in TERMINAL or to is S.ON_HOLD:
        return False
    return rank(to) > rank(state)


def is_backward(current: OrderState | OrderStatus, to: OrderStatus) -> bool:
    """True when ``to`` is behind ``current`` along the main line (holding is neither)."""
    if to is S.ON_HOLD:
        return False
    return rank(to) < rank(_as_state(current))


def is_rework(current: OrderState | OrderStatus, to: OrderStatus) -> bool:
    """The one backward move the domain allows: a failed inspection back to production."""
    return _as_state(current).effective is S.QUALITY_CHECK and to is S.IN_PRODUCTION


def _as_state(value: OrderState | OrderStatus) -> OrderState:
    if isinstance(value, OrderState):
        return value
    if value is S.ON_HOLD:
        raise ValueError("on_hold alone has no place on the line: pass the OrderState")
    return OrderState(value)
