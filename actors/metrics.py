"""The metrics port on Ray: instruments of ``ils.services.instruments`` as ``ray.util.metrics``.

Every Ray worker (Serve replica or actor) exports what it records to its node's metrics agent;
Prometheus scrapes the agents (``ray metrics launch-prometheus`` locally, the ServiceMonitor of
KubeRay on Kubernetes) and the Ray dashboard charts them. Ray prefixes every name with ``ray_``.
"""

from __future__ import annotations

from typing import Any

from ray.util import metrics

from ils.services.instruments import CATALOGUE, Instrument, Kind, Tags


def _build(instrument: Instrument) -> Any:
    if instrument.kind is Kind.COUNTER:
        return metrics.Counter(
            instrument.name, description=instrument.description, tag_keys=instrument.tag_keys
        )
    if instrument.kind is Kind.HISTOGRAM:
        return metrics.Histogram(
            instrument.name,
            description=instrument.description,
            boundaries=list(instrument.boundaries),
            tag_keys=instrument.tag_keys,
        )
    return metrics.Gauge(
        instrument.name, description=instrument.description, tag_keys=instrument.tag_keys
    )


class RayMeter:
    """One Ray metric object per instrument and process, created on first use."""

    def __init__(self) -> None:
        self._made: dict[str, Any] = {}

    def _metric(self, name: str) -> Any:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = _build(CATALOGUE[name])
        return made

    def count(self, name: str, value: float = 1.0, tags: Tags | None = None) -> None:
        self._metric(name).inc(value, tags=dict(tags or {}))

    def observe(self, name: str, value: float, tags: Tags | None = None) -> None:
        self._metric(name).observe(value, tags=dict(tags or {}))

    def set(self, name: str, value: float, tags: Tags | None = None) -> None:
        self._metric(name).set(value, tags=dict(tags or {}))
