"""Queueing models of a lab line: M/M/c exactly, G/G/c approximately, a serial line with flow
variability propagated station to station.

Units are the caller's (the lab code uses minutes). References: Erlang C via the Erlang B
recursion (numerically stable for hundreds of servers); Allen-Cunneen and Kingman-Whitt
(Sakasegawa's exponent, as in Hopp & Spearman, Factory Physics, ch. 8) for G/G/c; the departure
linking equation cd^2 = 1 + (1 - u^2)(ca^2 - 1) + u^2 (cs^2 - 1) / sqrt(c) (Whitt's QNA, Hopp &
Spearman eq. 8.10); random splitting and rate-weighted superposition for jobs that skip a station.

scipy and simpy have no closed-form queue formulas and the small queueing packages on PyPI are not
maintained, so these few formulas are written here, each checked against textbook values in tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

GgcMethod = Literal["allen_cunneen", "kingman_whitt"]


@dataclass(frozen=True)
class MMcResult:
    """Steady-state M/M/c figures: utilisation, P(wait), mean wait/sojourn, mean queue/number."""

    utilization: float
    p_wait: float
    wait: float
    sojourn: float
    queue_length: float
    in_system: float


def erlang_b(servers: int, offered: float) -> float:
    """Blocking probability of M/M/c/c with offered load ``offered`` = lambda / mu."""
    if servers < 0 or offered < 0:
        raise ValueError("servers and offered load must be non-negative")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return blocking


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arrival waits in M/M/c (1.0 when the queue is unstable)."""
    if servers <= 0 or offered >= servers:
        return 1.0
    blocking = erlang_b(servers, offered)
    utilization = offered / servers
    return blocking / (1.0 - utilization * (1.0 - blocking))


def mmc(arrival_rate: float, service_mean: float, servers: int) -> MMcResult:
    """Exact M/M/c steady state; waits are infinite when utilisation >= 1."""
    offered = arrival_rate * service_mean
    utilization = offered / servers if servers > 0 else math.inf
    if utilization >= 1.0:
        inf = math.inf
        return MMcResult(utilization, 1.0, inf, inf, inf, inf)
    p_wait = erlang_c(servers, offered)
    wait = p_wait * service_mean / (servers * (1.0 - utilization))
    queue = arrival_rate * wait
    return MMcResult(utilization, p_wait, wait, wait + service_mean, queue, queue + offered)


def ggc_wait(
    arrival_rate: float,
    service_mean: float,
    servers: int,
    ca2: float,
    cs2: float,
    method: GgcMethod = "allen_cunneen",
) -> float:
    """Approximate mean wait in queue of G/G/c (ca2, cs2: squared coefficients of variation)."""
    offered = arrival_rate * service_mean
    if servers <= 0 or offered >= servers:
        return math.inf
    utilization = offered / servers
    variability = (ca2 + cs2) / 2.0
    if method == "allen_cunneen":
        return variability * mmc(arrival_rate, service_mean, servers).wait
    exponent = math.sqrt(2.0 * (servers + 1.0)) - 1.0
    return variability * utilization**exponent / (servers * (1.0 - utilization)) * service_mean


def departure_scv(utilization: float, servers: int, ca2: float, cs2: float) -> float:
    """Squared coefficient of variation of departures from a G/G/c station (linking equation)."""
    u2 = min(utilization, 1.0) ** 2
    return 1.0 + (1.0 - u2) * (ca2 - 1.0) + u2 * (cs2 - 1.0) / math.sqrt(max(servers, 1))


@dataclass(frozen=True)
class StationLoad:
    """One station of a serial line: parallel servers, service time mean and CV, and the share of
    jobs that visit it (jobs that skip it flow past unchanged)."""

    name: str
    servers: int
    service_mean: float
    service_cv: float
    visit: float = 1.0


@dataclass(frozen=True)
class StationFlow:
    name: str
    utilization: float
    wait: float
    arrival_scv: float
    departure_scv: float


@dataclass(frozen=True)
class LineResult:
    """Expected cycle time of a job through the line and the per-station figures."""

    cycle_time: float
    stations: tuple[StationFlow, ...]

    @property
    def stable(self) -> bool:
        return math.isfinite(self.cycle_time)

    def utilization(self) -> dict[str, float]:
        return {s.name: s.utilization for s in self.stations}


def tandem_line(
    arrival_rate: float,
    arrival_scv: float,
    stations: Sequence[StationLoad],
    method: GgcMethod = "allen_cunneen",
) -> LineResult:
    """Cycle time of a serial line: sum over stations of visit share x (wait + service).

    The flow leaving each station feeds the next; a station visited by a share p of jobs sees the
    flow randomly split (scv p*c + 1 - p) and the streams merge again after it (rate-weighted).
    """
    flow_scv = arrival_scv
    cycle = 0.0
    flows: list[StationFlow] = []
    for st in stations:
        if st.visit <= 0.0:
            flows.append(StationFlow(st.name, 0.0, 0.0, flow_scv, flow_scv))
            continue
        rate = arrival_rate * st.visit
        ca2 = st.visit * flow_scv + 1.0 - st.visit
        cs2 = st.service_cv**2
        offered = rate * st.service_mean
        utilization = offered / st.servers if st.servers > 0 else math.inf
        wait = ggc_wait(rate, st.service_mean, st.servers, ca2, cs2, method)
        cd2 = departure_scv(utilization, st.servers, ca2, cs2)
        bypass = (1.0 - st.visit) * flow_scv + st.visit
        flow_scv = st.visit * cd2 + (1.0 - st.visit) * bypass
        cycle += st.visit * (wait + st.service_mean)
        flows.append(StationFlow(st.name, utilization, wait, ca2, cd2))
    return LineResult(cycle, tuple(flows))
