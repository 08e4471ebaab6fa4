"""Staff reallocation: search moves of cross-trained staff that minimise the expected cycle time
of the line (``queueing.tandem_line``), then check the best candidates on the digital twin.

Rules a plan keeps: staff move only from a station to one its staff are cross-trained for; the
lab's staff total is unchanged (plus an optional overtime allowance, i.e. shift extensions, shown
as moves from ``OVERTIME``); a station with work (visited by a route, or holding jobs) keeps at
least one person. The search is a beam search over single-person moves; each extra move costs a
small fraction of cycle time so that equal plans prefer fewer moves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ils.analytics.bottleneck.queueing import LineResult, StationLoad, tandem_line
from ils.analytics.bottleneck.twin import LineState, PairedComparison, RunSpec, compare

OVERTIME = "overtime"


@dataclass(frozen=True)
class Move:
    from_station: str
    to_station: str
    staff: int


@dataclass(frozen=True)
class Plan:
    moves: tuple[Move, ...]
    staff: dict[str, int]
    cycle_time: float
    change_pct: float
    utilization: dict[str, float]


def line_loads(state: LineState, staff: Mapping[str, int] | None = None) -> list[StationLoad]:
    shares = state.visit_shares()
    staffed = state.with_staff(staff) if staff else state
    return [
        StationLoad(name, st.servers, st.service_mean, st.service_cv, shares[name])
        for name, st in staffed.stations.items()
    ]


def expected_line(state: LineState, staff: Mapping[str, int] | None = None) -> LineResult:
    """The queueing model of the line under a staffing (default: the current one)."""
    return tandem_line(state.arrival_rate, state.arrival_cv**2, line_loads(state, staff))


def _objective(result: LineResult, moves: int, move_cost: float) -> tuple[float, float]:
    overload = sum(max(s.utilization - 0.995, 0.0) for s in result.stations)
    if overload > 0 or not result.stable:
        return (overload + 1e-9, math.inf)
    return (0.0, result.cycle_time * (1.0 + move_cost * moves))


def minimum_staff(state: LineState) -> dict[str, int]:
    shares = state.visit_shares()
    return {
        n: 1 if shares[n] > 0 or st.queue + st.in_process > 0 else 0
        for n, st in state.stations.items()
    }


def _neighbours(
    staff: dict[str, int],
    floor: Mapping[str, int],
    trained: Mapping[str, Collection[str]],
    overtime_left: int,
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
    return pairs


def net_moves(sequence: Sequence[tuple[str, str]]) -> tuple[Move, ...]:
    """Aggregate single-person moves into (from, to, staff), cancelling moves that undo others."""
    counts: Counter[tuple[str, str]] = Counter(sequence)
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
) -> list[Plan]:
    """Ranked staffing plans (best first); the first may be the current staffing (no moves)."""
    floor = minimum_staff(state)
    base = expected_line(state)
    start = state.staff()
    seen: dict[tuple[int, ...], tuple[tuple[float, float], tuple[tuple[str, str], ...]]] = {}
    key = tuple(start.values())
    seen[key] = (_objective(base, 0, move_cost), ())
    frontier: list[tuple[dict[str, int], tuple[tuple[str, str], ...]]] = [(start, ())]
    for depth in range(1, max_moves + 1):
        grown: list[tuple[tuple[float, float], dict[str, int], tuple[tuple[str, str], ...]]] = []
        for staff, seq in frontier:
            used = sum(1 for step in seq if step[0] == OVERTIME)
            for src, dst in _neighbours(staff, floor, cross_trained, overtime - used):
                nxt = dict(staff)
                if src != OVERTIME:
                    nxt[src] -= 1
                nxt[dst] += 1
                k = tuple(nxt.values())
                if k in seen:
                    continue
                obj = _objective(expected_line(state, nxt), depth, move_cost)
                seen[k] = (obj, (*seq, (src, dst)))
                grown.append((obj, nxt, (*seq, (src, dst))))
        grown.sort(key=lambda g: g[0])
        frontier = [(g[1], g[2]) for g in grown[:beam]]
    ranked = sorted(seen.items(), key=lambda kv: kv[1][0])[:top]
    return [_plan(state, base, seq) for _k, (_obj, seq) in ranked]


def _plan(state: LineState, base: LineResult, seq: tuple[tuple[str, str], ...]) -> Plan:
    staff = state.staff()
    for src, dst in seq:
        if src != OVERTIME:
            staff[src] -= 1
        staff[dst] += 1
    result = expected_line(state, staff)
    change = (
        100.0 * (result.cycle_time - base.cycle_time) / base.cycle_time
        if base.stable and result.stable
        else math.nan
    )
    return Plan(net_moves(seq), staff, result.cycle_time, change, result.utilization())


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
) -> Recommendation:
    """Search with the queueing model, then replay the best candidates on the twin with common
    random numbers and keep the one with the lowest measured cycle time (or no move at all)."""
    plans = [p for p in search(state, cross_trained, max_moves, overtime=overtime) if p.moves]
    checked = [
        (compare(state, state.with_staff(p.staff), spec, seeds), p) for p in plans[:candidates]
    ]
    method = "G/G/c tandem model (Allen-Cunneen, QNA linking) + beam search, twin-checked"
    improving = [(c, p) for c, p in checked if c.change_pct < 0]
    if not improving:
        now = expected_line(state)
        keep = Plan((), state.staff(), now.cycle_time, 0.0, now.utilization())
        return Recommendation(keep, None, len(checked), method)
    best_check, best = min(improving, key=lambda cp: cp[0].alt_cycle_time)
    return Recommendation(best, best_check, len(checked), method)
