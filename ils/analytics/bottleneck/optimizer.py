"""Reallocation: search moves of cross-trained staff, and optionally overtime (an extra person for
the shift, i.e. a shift extension) and machine hours (one more machine run for the shift at a
station that has machines), that minimise the expected cycle time of the line
(``queueing.tandem_line``: multi-server G/G/c stations, Allen-Cunneen waits, QNA linking), then
check the best candidates on the digital twin with common random numbers.

Rules a plan keeps: staff move only from a station to one its staff are cross-trained for; the
lab's staff total is unchanged except for overtime (shown as moves from ``OVERTIME``); a station
with work (visited by a route, or holding jobs) keeps at least one person. Every plan states its
cost: staff moved, overtime staff-hours and machine-hours (``shift_hours`` each). The search is a
beam search over single steps; each move costs ``move_cost`` and each overtime person or machine
``extra_cost`` of the cycle time, so a plan only pays for overtime or a machine where it buys more
than that, and equal plans prefer fewer steps.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from ils.analytics.bottleneck.queueing import LineResult, StationLoad, tandem_line
from ils.analytics.bottleneck.twin import LineState, PairedComparison, RunSpec, compare

OVERTIME = "overtime"
MACHINE = "machine"
_Seq = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Move:
    from_station: str
    to_station: str
    staff: int


@dataclass(frozen=True)
class Cost:
    """What a plan costs: people moved between stations, overtime staff-hours, machine-hours."""

    staff_moved: int = 0
    overtime_staff_hours: float = 0.0
    machine_hours: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "staff_moved": self.staff_moved,
            "overtime_staff_hours": self.overtime_staff_hours,
            "machine_hours": self.machine_hours,
        }


@dataclass(frozen=True)
class Plan:
    moves: tuple[Move, ...]
    staff: dict[str, int]
    cycle_time: float
    change_pct: float
    utilization: dict[str, float]
    machines: dict[str, int] = field(default_factory=dict)  # extra machines run, per station
    cost: Cost = field(default_factory=Cost)

    def apply(self, state: LineState) -> LineState:
        """The line under this plan."""
        return state.with_staff(self.staff).with_extra_machines(self.machines)


def line_loads(
    state: LineState,
    staff: Mapping[str, int] | None = None,
    machines: Mapping[str, int] | None = None,
) -> list[StationLoad]:
    shares = state.visit_shares()
    staffed = state.with_staff(staff) if staff else state
    staffed = staffed.with_extra_machines(machines) if machines else staffed
    return [
        StationLoad(name, st.servers, st.service_mean, st.service_cv, shares[name])
        for name, st in staffed.stations.items()
    ]


def expected_line(
    state: LineState,
    staff: Mapping[str, int] | None = None,
    machines: Mapping[str, int] | None = None,
) -> LineResult:
    """The queueing model of the line under a staffing (default: the current one)."""
    return tandem_line(state.arrival_rate, state.arrival_cv**2, line_loads(state, staff, machines))


def _objective(result: LineResult, penalty: float) -> tuple[float, float]:
    overload = sum(max(s.utilization - 0.995, 0.0) for s in result.stations)
    if overload > 0 or not result.stable:
        return (overload + 1e-9, math.inf)
    return (0.0, result.cycle_time * (1.0 + penalty))


def minimum_staff(state: LineState) -> dict[str, int]:
    shares = state.visit_shares()
    return {
        n: 1 if shares[n] > 0 or st.queue + st.in_process > 0 else 0
        for n, st in state.stations.items()
    }


def _neighbours(
    state: LineState,
    staff: dict[str, int],
    floor: Mapping[str, int],
    trained: Mapping[str, Collection[str]],
    overtime_left: int,
    machines_left: int,
) -> list[tuple[str, str]]:
    pairs = [
        (src, dst)
        for src, dsts in trained.items()
        if src in staff and staff[src] > floor[src]
        for dst in dsts
        if dst in staff and dst != src
    ]
    if overtime_left > 0:
        pairs += [(OVERTIME, dst) for dst in staff]
    if machines_left > 0:
        pairs += [(MACHINE, n) for n, st in state.stations.items() if st.machines > 0]
    return pairs


def _apply_step(
    staff: dict[str, int], extra: dict[str, int], step: tuple[str, str]
) -> tuple[dict[str, int], dict[str, int]]:
    src, dst = step
    staff, extra = dict(staff), dict(extra)
    if src == MACHINE:
        extra[dst] = extra.get(dst, 0) + 1
        return staff, extra
    if src != OVERTIME:
        staff[src] -= 1
    staff[dst] += 1
    return staff, extra


def net_moves(sequence: Sequence[tuple[str, str]]) -> tuple[Move, ...]:
    """Aggregate single-person moves into (from, to, staff), cancelling moves that undo others
    (machine steps are not staff moves: see ``Plan.machines``)."""
    counts: Counter[tuple[str, str]] = Counter(s for s in sequence if s[0] != MACHINE)
    moves = []
    for (src, dst), n in sorted(counts.items()):
        net = n - counts.get((dst, src), 0)
        if net > 0:
            moves.append(Move(src, dst, net))
    return tuple(moves)


def search(
    state: LineState,
    cross_trained: Mapping[str, Collection[str]],
    max_moves: int = 4,
    beam: int = 6,
    top: int = 5,
    overtime: int = 0,
    move_cost: float = 0.005,
    machines: int = 0,
    extra_cost: float = 0.005,
    shift_hours: float = 8.0,
) -> list[Plan]:
    """Ranked plans (best first); the first may be the current staffing (no moves).
    ``max_moves`` bounds the steps (moves, overtime people and machines together); ``overtime``
    and ``machines`` bound the overtime people and extra machines a plan may use."""
    floor = minimum_staff(state)
    base = expected_line(state)
    start: tuple[dict[str, int], dict[str, int]] = (state.staff(), {})

    def key(staff: dict[str, int], extra: dict[str, int]) -> tuple[int, ...]:
        return (*staff.values(), *(extra.get(n, 0) for n in staff))

    def penalty(seq: _Seq) -> float:
        extras = sum(1 for src, _ in seq if src in (OVERTIME, MACHINE))
        return move_cost * (len(seq) - extras) + extra_cost * extras

    seen: dict[tuple[int, ...], tuple[tuple[float, float], _Seq]] = {
        key(*start): (_objective(base, 0.0), ())
    }
    frontier: list[tuple[dict[str, int], dict[str, int], _Seq]] = [(*start, ())]
    for _depth in range(1, max_moves + 1):
        grown: list[tuple[tuple[float, float], dict[str, int], dict[str, int], _Seq]] = []
        for staff, extra, seq in frontier:
            ot_left = overtime - sum(1 for step in seq if step[0] == OVERTIME)
            m_left = machines - sum(1 for step in seq if step[0] == MACHINE)
            for step in _neighbours(state, staff, floor, cross_trained, ot_left, m_left):
                nxt, nxt_extra = _apply_step(staff, extra, step)
                k = key(nxt, nxt_extra)
                if k in seen:
                    continue
                path = (*seq, step)
                obj = _objective(expected_line(state, nxt, nxt_extra), penalty(path))
                seen[k] = (obj, path)
                grown.append((obj, nxt, nxt_extra, path))
        grown.sort(key=lambda g: g[0])
        frontier = [(g[1], g[2], g[3]) for g in grown[:beam]]
    ranked = sorted(seen.values(), key=lambda v: v[0])[:top]
    return [_plan(state, base, seq, shift_hours) for _obj, seq in ranked]


def _plan(
    state: LineState, base: LineResult, seq: tuple[tuple[str, str], ...], shift_hours: float
) -> Plan:
    staff, extra = state.staff(), dict[str, int]()
    for step in seq:
        staff, extra = _apply_step(staff, extra, step)
    result = expected_line(state, staff, extra)
    change = (
        100.0 * (result.cycle_time - base.cycle_time) / base.cycle_time
        if base.stable and result.stable
        else math.nan
    )
    moves = net_moves(seq)
    cost = Cost(
        staff_moved=sum(m.staff for m in moves if m.from_station != OVERTIME),
        overtime_staff_hours=shift_hours * sum(1 for s in seq if s[0] == OVERTIME),
        machine_hours=shift_hours * sum(extra.values()),
    )
    return Plan(moves, staff, result.cycle_time, change, result.utilization(), extra, cost)


@dataclass(frozen=True)
class Recommendation:
    """The plan the twin confirmed best, with its model and measured cycle-time change."""

    plan: Plan
    check: PairedComparison | None
    candidates_checked: int
    method: str

    def as_dict(self) -> dict[str, object]:
        check = self.check
        return {
            "moves": [
                {"from_station": m.from_station, "to_station": m.to_station, "staff": m.staff}
                for m in self.plan.moves
            ],
            "extra_machines": dict(self.plan.machines),
            "cost": self.plan.cost.as_dict(),
            "expected_cycle_time_change_pct": None if check is None else check.change_pct,
            "cycle_time_change_ci95": None if check is None else [check.ci_low, check.ci_high],
            "model_cycle_time_change_pct": None
            if math.isnan(self.plan.change_pct)
            else self.plan.change_pct,
            "expected_utilization": self.plan.utilization
            if check is None
            else check.alt_utilization,
            "utilization_sd": None if check is None else check.alt_utilization_sd,
            "method": self.method,
        }


def recommend(
    state: LineState,
    cross_trained: Mapping[str, Collection[str]],
    spec: RunSpec,
    seeds: Sequence[int],
    max_moves: int = 4,
    candidates: int = 3,
    overtime: int = 0,
    machines: int = 0,
    shift_hours: float = 8.0,
) -> Recommendation:
    """Search with the queueing model, then replay the best candidates on the twin with common
    random numbers and keep the one with the lowest measured cycle time (or no move at all)."""
    plans = [
        p
        for p in search(
            state,
            cross_trained,
            max_moves,
            overtime=overtime,
            machines=machines,
            shift_hours=shift_hours,
        )
        if p.moves or p.machines
    ]
    checked = [(compare(state, p.apply(state), spec, seeds), p) for p in plans[:candidates]]
    method = "G/G/c tandem model (Allen-Cunneen, QNA linking) + beam search, twin-checked"
    improving = [(c, p) for c, p in checked if c.change_pct < 0]
    if not improving:
        now = expected_line(state)
        keep = Plan((), state.staff(), now.cycle_time, 0.0, now.utilization())
        return Recommendation(keep, None, len(checked), method)
    best_check, best = min(improving, key=lambda cp: cp[0].alt_cycle_time)
    return Recommendation(best, best_check, len(checked), method)
