"""What-ifs on the digital twin (POST /api/workflow/optimize): validated, bounded, side-effect free.

A what-if never touches the live state: it builds a new ``LineState`` from the request and runs
paired replications (common random numbers) of the current line and the changed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ils.analytics.bottleneck.twin import (
    LineState,
    PairedComparison,
    Route,
    RunSpec,
    TwinStation,
    compare,
    expected_events,
)
from ils.domain.station import LINE
from ils.errors import FieldIssue, ValidationFailed

MAX_REPLICATIONS = 50
MAX_HORIZON_MIN = 7 * 24 * 60.0
MAX_EVENTS = 3_000_000  # total simulated events over all replications (a few seconds of CPU)


@dataclass(frozen=True)
class WhatIf:
    staff: Mapping[str, int] = field(default_factory=dict)
    machines: Mapping[str, int] = field(default_factory=dict)
    service_factor: Mapping[str, float] = field(default_factory=dict)
    arrival_rate: float | None = None
    horizon_min: float = 480.0
    replications: int = 10


def _resource_issues(state: LineState, req: WhatIf, lab_staff: int) -> list[FieldIssue]:
    issues = []
    for part, values in (("staff", req.staff), ("machines", req.machines)):
        for name, value in values.items():
            ptr = f"/{part}/{name}"
            if name not in state.stations:
                issues.append(FieldIssue(ptr, "unknown-station", f"no station {name!r}"))
            elif value < 0:
                issues.append(FieldIssue(ptr, "negative", f"{part} must be >= 0"))
    for name, factor in req.service_factor.items():
        ptr = f"/service_factor/{name}"
        if name not in state.stations:
            issues.append(FieldIssue(ptr, "unknown-station", f"no station {name!r}"))
        elif not 0.1 <= factor <= 10.0:
            issues.append(FieldIssue(ptr, "out-of-range", "factor must be within 0.1..10"))
    total = sum(req.staff.get(n, st.staff) for n, st in state.stations.items())
    if total > lab_staff:
        issues.append(
            FieldIssue(
                "/staff", "more-than-lab", f"{total} staff requested, the lab has {lab_staff}"
            )
        )
    return issues


def _run_issues(state: LineState, req: WhatIf) -> list[FieldIssue]:
    issues = []
    if not 2 <= req.replications <= MAX_REPLICATIONS:
        issues.append(
            FieldIssue("/replications", "out-of-range", f"2..{MAX_REPLICATIONS} replications")
        )
    if not 0 < req.horizon_min <= MAX_HORIZON_MIN:
        issues.append(FieldIssue("/horizon_min", "out-of-range", "horizon must be 0..7 days"))
    rate = state.arrival_rate if req.arrival_rate is None else req.arrival_rate
    if not 0 < rate <= 100.0:
        issues.append(FieldIssue("/arrival_rate", "out-of-range", "0 < jobs/min <= 100"))
    if issues:
        return issues
    spec = _spec(req)
    events = 2 * req.replications * expected_events(replace(state, arrival_rate=rate), spec)
    if events > MAX_EVENTS:
        issues.append(
            FieldIssue("/replications", "too-large", "fewer replications or a shorter horizon")
        )
    return issues


def _spec(req: WhatIf) -> RunSpec:
    return RunSpec(req.horizon_min * 1.5, sample_every=5.0, count_until=req.horizon_min)


def changed_state(state: LineState, req: WhatIf) -> LineState:
    stations = {
        n: replace(
            st,
            staff=req.staff.get(n, st.staff),
            machines=req.machines.get(n, st.machines),
            service_mean=st.service_mean * req.service_factor.get(n, 1.0),
        )
        for n, st in state.stations.items()
    }
    rate = state.arrival_rate if req.arrival_rate is None else req.arrival_rate
    return replace(state, stations=stations, arrival_rate=rate)


def run_what_if(state: LineState, req: WhatIf, lab_staff: int, seed: int) -> PairedComparison:
    """Validate, then compare the changed line with the current one on paired replications.
    Jobs are counted over the horizon and given half as long again to finish."""
    issues = _resource_issues(state, req, lab_staff) + _run_issues(state, req)
    if issues:
        raise ValidationFailed(issues)
    spec = _spec(req)
    base = replace(state, arrival_rate=changed_state(state, req).arrival_rate)
    seeds = [seed + i for i in range(req.replications)]
    return compare(base, changed_state(state, req), spec, seeds)


def line_state_from_snapshot(snapshot: Mapping[str, Any]) -> LineState:
    """Build the twin's state from a live snapshot ``{"stations": {name: {"staff", "machines",
    "queue", "in_process", "service_mean_min", "service_cv", "batch"?}}, "arrival_rate_per_min",
    "routes": [{"stations": [...], "share"}]}``; stations are put in line order."""
    issues: list[FieldIssue] = []
    raw = snapshot.get("stations") or {}
    known = {str(s) for s in LINE}
    for name in raw:
        if name not in known:
            issues.append(
                FieldIssue(f"/stations/{name}", "unknown-station", f"no station {name!r}")
            )
    for name, st in raw.items():
        for key in ("staff", "machines", "queue", "in_process"):
            if int(st.get(key, 0)) < 0:
                issues.append(FieldIssue(f"/stations/{name}/{key}", "negative", "must be >= 0"))
        if float(st.get("service_mean_min", 0.0)) <= 0:
            issues.append(FieldIssue(f"/stations/{name}/service_mean_min", "not-positive", "> 0"))
    routes = tuple(
        Route(tuple(r["stations"]), float(r["share"])) for r in snapshot.get("routes") or []
    )
    if not routes or any(r.share < 0 for r in routes) or sum(r.share for r in routes) <= 0:
        issues.append(FieldIssue("/routes", "invalid", "at least one route with a positive share"))
    if any(s not in raw for r in routes for s in r.stations):
        issues.append(FieldIssue("/routes", "unknown-station", "routes use unlisted stations"))
    if issues:
        raise ValidationFailed(issues)
    stations = {
        str(name): TwinStation(
            staff=int(raw[name]["staff"]),
            service_mean=float(raw[name]["service_mean_min"]),
            service_cv=float(raw[name].get("service_cv", 1.0)),
            machines=int(raw[name].get("machines", 0)),
            batch=int(raw[name].get("batch", 1)),
            queue=int(raw[name].get("queue", 0)),
            in_process=int(raw[name].get("in_process", 0)),
        )
        for name in (str(s) for s in LINE)
        if name in raw
    }
    rate = float(snapshot.get("arrival_rate_per_min", 0.0))
    return LineState(stations, rate, routes, float(snapshot.get("arrival_cv", 1.0)))
