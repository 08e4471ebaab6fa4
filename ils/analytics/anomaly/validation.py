"""Telemetry reading checks: what is rejected, what is quarantined, what reaches the detectors.

Rejected (never usable; the answer names the reason): ``unknown-equipment``, ``non-finite-value``
(NaN or infinity), ``future-timestamp`` (more than ``max_future_s`` ahead of ``now``),
``stale-timestamp`` (older than ``max_age_s``), ``out-of-order`` (not after the machine's last
accepted reading), ``unknown-metric``.
Quarantined (kept for a person to look at, not fed to the detectors): ``unit-changed`` (a metric
name that differs from a known one only by its unit suffix, e.g. ``spindle_temp_f``) and ``flood``
(a machine sending faster than its token bucket allows). A check on one machine never touches the
state of another machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ValidationParams:
    max_future_s: float = 300.0
    max_age_s: float = 7 * 86400.0
    flood_rate_per_s: float = 1.0 / 60.0  # sustained readings per second per machine
    flood_burst: float = 600.0  # readings a machine may send at once (backfill after an outage)


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float


@dataclass(frozen=True)
class IntakeState:
    """Per machine: last accepted reading time and its flood token bucket."""

    last_at: Mapping[str, float] = field(default_factory=dict)
    buckets: Mapping[str, Bucket] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    index: int
    equipment_id: str
    outcome: str  # accepted | rejected | quarantined
    code: str | None = None
    detail: str = ""


def check_readings(
    state: IntakeState,
    readings: Sequence[Mapping[str, Any]],
    registry: Mapping[str, Sequence[str]],
    now: float,
    p: ValidationParams | None = None,
) -> tuple[IntakeState, list[Verdict]]:
    """One verdict per reading (``{"equipment_id", "at": epoch s, "metrics"}``), in order.

    ``registry`` maps each known equipment id to the metric names it reports.
    """
    p = p or ValidationParams()
    last, buckets = dict(state.last_at), dict(state.buckets)
    out = []
    for i, r in enumerate(readings):
        eid = str(r.get("equipment_id", ""))
        problem = _problem(r, registry, last.get(eid, -math.inf), now, p)
        if problem is not None:
            out.append(Verdict(i, eid, *problem))
            continue
        bucket = _refill(buckets.get(eid), float(r["at"]), p)
        if bucket.tokens < 1.0:
            buckets[eid] = bucket
            out.append(
                Verdict(i, eid, "quarantined", "flood", "too many readings from one machine")
            )
            continue
        buckets[eid] = Bucket(bucket.tokens - 1.0, bucket.at)
        last[eid] = float(r["at"])
        out.append(Verdict(i, eid, "accepted"))
    return IntakeState(last, buckets), out


def _problem(
    r: Mapping[str, Any],
    registry: Mapping[str, Sequence[str]],
    last: float,
    now: float,
    p: ValidationParams,
) -> tuple[str, str, str] | None:
    eid = str(r.get("equipment_id", ""))
    if eid not in registry:
        return "rejected", "unknown-equipment", f"equipment {eid!r} is not registered"
    at = r.get("at")
    if not isinstance(at, int | float) or not math.isfinite(at):
        return "rejected", "non-finite-value", "the reading time is not a finite number"
    if at > now + p.max_future_s:
        return "rejected", "future-timestamp", f"reading is {at - now:.0f} s in the future"
    if at < now - p.max_age_s:
        return "rejected", "stale-timestamp", f"reading is {now - at:.0f} s old"
    if at <= last:
        return "rejected", "out-of-order", "not after the last accepted reading of this machine"
    return _metric_problem(r.get("metrics") or {}, registry[eid])


def _metric_problem(
    metrics: Mapping[str, Any], known: Sequence[str]
) -> tuple[str, str, str] | None:
    stems = {_stem(k): k for k in known}
    for name, value in metrics.items():
        if name not in known:
            if _stem(name) in stems:
                return "quarantined", "unit-changed", f"{name} looks like {stems[_stem(name)]}"
            return "rejected", "unknown-metric", f"{name} is not a metric of this machine"
        if not isinstance(value, int | float) or not math.isfinite(value):
            return "rejected", "non-finite-value", f"{name} is not a finite number"
    return None


def _stem(name: str) -> str:
    """The metric name without its unit suffix (``spindle_temp_c`` -> ``spindle_temp``)."""
    base = name.rsplit("_", 1)[0] if "_" in name else name
    return base.removesuffix("_mm").removesuffix("_in")


def _refill(bucket: Bucket | None, at: float, p: ValidationParams) -> Bucket:
    if bucket is None:
        return Bucket(p.flood_burst, at)
    gained = max(0.0, at - bucket.at) * p.flood_rate_per_s
    return Bucket(min(p.flood_burst, bucket.tokens + gained), max(at, bucket.at))
