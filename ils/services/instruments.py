"""The operational metrics of ILS: one catalogue of instruments and the port that records them.

Services record through a :class:`Meter` (the ``metrics`` field of ``Gateways``). In-process the
meter is :class:`NullMeter`; on Ray, ``actors/metrics.py`` turns each instrument of
:data:`CATALOGUE` into a ``ray.util.metrics`` Counter, Histogram or Gauge, which Ray exports to
Prometheus (and shows on its dashboard) as ``ray_<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

Tags = Mapping[str, str]


class Kind(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


@dataclass(frozen=True)
class Instrument:
    name: str
    kind: Kind
    description: str
    tag_keys: tuple[str, ...] = ()
    #: Histogram bucket upper bounds (in the instrument's unit).
    boundaries: tuple[float, ...] = ()


LATENCY_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
FIT_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

EVENTS_INGESTED = "ils_lims_events_ingested_total"
PROPAGATION_MS = "ils_event_propagation_ms"
OUTBOX_DEPTH = "ils_outbox_pending"
BREAKER_STATE = "ils_lims_breaker_state"
SOCKETS = "ils_sockets_open"
MODEL_FIT_S = "ils_model_fit_seconds"
ALERTS_RAISED = "ils_alerts_raised_total"
REQUESTS = "ils_http_requests_total"

#: Breaker states as gauge values (Prometheus has no strings).
BREAKER_LEVEL = {"closed": 0.0, "half_open": 1.0, "open": 2.0}

CATALOGUE: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument(
            EVENTS_INGESTED,
            Kind.COUNTER,
            "LIMS webhook events ingested, by outcome (applied, duplicate, late, problem...)",
            ("outcome",),
        ),
        Instrument(
            PROPAGATION_MS,
            Kind.HISTOGRAM,
            "Time from an event's occurrence to its frame being written to a socket (ms)",
            ("topic",),
            LATENCY_MS,
        ),
        Instrument(OUTBOX_DEPTH, Kind.GAUGE, "Outbox rows waiting for the LIMS", ("lab",)),
        Instrument(
            BREAKER_STATE,
            Kind.GAUGE,
            "LIMS circuit breaker: 0 closed, 1 half-open, 2 open",
            ("lab",),
        ),
        Instrument(SOCKETS, Kind.GAUGE, "Open WebSockets on this gateway replica", ("replica",)),
        Instrument(MODEL_FIT_S, Kind.HISTOGRAM, "Model fit time (s)", ("model",), FIT_S),
        Instrument(ALERTS_RAISED, Kind.COUNTER, "Alerts raised, by kind", ("kind",)),
        Instrument(REQUESTS, Kind.COUNTER, "HTTP responses, by status class", ("status_class",)),
    )
}


class Meter(Protocol):
    """Records instruments of :data:`CATALOGUE` by name."""

    def count(self, name: str, value: float = 1.0, tags: Tags | None = None) -> None: ...

    def observe(self, name: str, value: float, tags: Tags | None = None) -> None: ...

    def set(self, name: str, value: float, tags: Tags | None = None) -> None: ...


class NullMeter:
    """Records nothing: the in-process default (tests, the CLI)."""

    def count(self, name: str, value: float = 1.0, tags: Tags | None = None) -> None:
        return None

    def observe(self, name: str, value: float, tags: Tags | None = None) -> None:
        return None

    def set(self, name: str, value: float, tags: Tags | None = None) -> None:
        return None


def _key(name: str, tags: Tags | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    instrument = CATALOGUE.get(name)
    if instrument is None:
        raise KeyError(f"{name} is not an instrument of the catalogue")
    given = dict(tags or {})
    if set(given) != set(instrument.tag_keys):
        raise ValueError(f"{name} takes the tags {instrument.tag_keys}, got {sorted(given)}")
    return name, tuple(sorted(given.items()))


@dataclass
class RecordingMeter:
    """Keeps totals, observations and last values in memory; checks names and tags (tests)."""

    counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    observations: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = field(
        default_factory=dict
    )
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)

    def count(self, name: str, value: float = 1.0, tags: Tags | None = None) -> None:
        key = _key(name, tags)
        self.counts[key] = self.counts.get(key, 0.0) + value

    def observe(self, name: str, value: float, tags: Tags | None = None) -> None:
        self.observations.setdefault(_key(name, tags), []).append(value)

    def set(self, name: str, value: float, tags: Tags | None = None) -> None:
        self.values[_key(name, tags)] = value

    def total(self, name: str, **tags: str) -> float:
        return self.counts.get(_key(name, tags), 0.0)

    def last(self, name: str, **tags: str) -> float | None:
        return self.values.get(_key(name, tags))

    def seen(self, name: str, **tags: str) -> list[float]:
        return self.observations.get(_key(name, tags), [])
