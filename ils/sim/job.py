"""A LIMS job: what the simulated lab needs to know about an order it accepted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ils.domain.station import Station, route

LENS_TYPES = ("single_vision", "bifocal", "progressive", "occupational")

#: Finished single-vision stock usually covers sphere -6..+4 D with up to -2 D of cylinder.
STOCK_SPHERE = (-6.0, 4.0)
STOCK_CYLINDER = 2.0
HIGH_POWER_D = 4.0


@dataclass
class Job:
    job_id: str
    order_id: str
    lens_type: str
    coatings: frozenset[str]
    frame_type: str
    rx: dict[str, dict[str, Any]]
    stock: bool
    route: list[Station]
    accepted_at: float
    sequence: int = 0
    breakages: int = 0
    finished: bool = False
    state: str = "accepted"
    station: Station | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    @property
    def high_power(self) -> bool:
        return any(
            abs(float(eye.get("sphere") or 0.0)) > HIGH_POWER_D
            or abs(float(eye.get("cylinder") or 0.0)) > HIGH_POWER_D
            for eye in self.rx.values()
        )

    @property
    def has_prism(self) -> bool:
        return any(
            any(float(p.get("amount") or 0.0) > 0 for p in eye.get("prism") or [])
            for eye in self.rx.values()
        )


def is_stock(lens_type: str, rx: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a finished stock lens covers the prescription (no surfacing needed)."""
    if lens_type != "single_vision":
        return False
    for eye in rx.values():
        sphere = float(eye.get("sphere") or 0.0)
        cylinder = abs(float(eye.get("cylinder") or 0.0))
        prism = any(float(p.get("amount") or 0.0) > 0 for p in eye.get("prism") or [])
        if not STOCK_SPHERE[0] <= sphere <= STOCK_SPHERE[1] or cylinder > STOCK_CYLINDER or prism:
            return False
    return True


class JobRejected(ValueError):
    """The order cannot be made by this lab (the LIMS answers 422 with this reason)."""


def job_from_order(order: Mapping[str, Any], job_id: str, now: float) -> Job:
    """Build a job from an order body as ILS sends it (API.md order response)."""
    lens = order.get("lens")
    if not isinstance(lens, Mapping):
        raise JobRejected("order has no lens")
    lens_type = str(lens.get("type", ""))
    if lens_type not in LENS_TYPES:
        raise JobRejected(f"unknown lens type {lens_type!r}")
    coatings = frozenset(str(c) for c in lens.get("coatings") or [])
    raw_rx = order.get("rx") or {}
    rx = {eye: dict(raw_rx[eye]) for eye in ("od", "os") if isinstance(raw_rx.get(eye), Mapping)}
    if not rx:
        raise JobRejected("order has no prescription")
    stock = is_stock(lens_type, rx) and "tint" not in coatings
    frame = order.get("frame") or {}
    return Job(
        job_id=job_id,
        order_id=str(order.get("id", "")),
        lens_type=lens_type,
        coatings=coatings,
        frame_type=str(frame.get("type", "full_rim")),
        rx=rx,
        stock=stock,
        route=route(lens_type, coatings, stock=stock),
        accepted_at=now,
    )
