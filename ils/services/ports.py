"""Ports the services depend on, so that they run the same on Ray, in tests and in a CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ils.domain.event import StoredEvent
from ils.services.instruments import Meter, NullMeter

if TYPE_CHECKING:
    from ils.services.forecast_model import Forecaster

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Publisher(Protocol):
    """Where committed events go after commit (the tenants' real-time rooms)."""

    async def publish(self, events: Sequence[StoredEvent]) -> None: ...


class NullPublisher:
    """Publishes nowhere: for the CLI and tests that only look at the database."""

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        return None


class RecordingPublisher:
    """Keeps what was published, in order (tests)."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        self.events.extend(events)


@dataclass
class Gateways:
    """The ports whose real implementations live in Ray actors (built in ``actors/``).

    Each has an in-process default so that the API, the CLI and the tests run without Ray. A
    capability that needs an actor adds a field here with such a default, and its Ray-backed
    implementation in ``actors/gateways.py``.
    """

    publisher: Publisher = field(default_factory=NullPublisher)
    #: Tenant rooms for the real-time gateway (``ils.services.rooms.RoomClient``); None: built
    #: in-process from the runtime's database and Redis.
    rooms: Any = None
    forecasts: Forecaster = field(default_factory=lambda: _in_process_forecaster())
    #: Live station state (``ils.services.stations.StationsPort``); None: built in-process from
    #: the runtime's database (``InProcessStations``).
    stations: Any = None
    #: Per-lab bottleneck detectors (``ils.services.bottleneck_model.BottleneckPort``); None:
    #: built in-process from the runtime's database and stations (``InProcessBottlenecks``).
    bottlenecks: Any = None
    #: Each lab's anomaly model (``ils.services.anomaly_model.AnomalyPort``); None: in-process
    #: (``InProcessAnomaly``) on the runtime's database.
    anomaly: Any = None
    #: Operational metrics (``ils.services.instruments``); on Ray, ``actors.metrics.RayMeter``.
    metrics: Meter = field(default_factory=NullMeter)
    #: Feed the live stations in the background, gathered over requests
    #: (``ils.services.station_feed``), rather than within each webhook: on Ray, where every
    #: feed is a call to an actor. In process, feeding inline keeps reads after a write exact.
    stations_in_background: bool = False


def _in_process_forecaster() -> Forecaster:
    """Imported on first use: the forecasting stack (statsmodels) is heavy to import."""
    from ils.services.forecast_model import InProcessForecaster

    return InProcessForecaster()


async def publish_committed(publisher: Publisher, events: Sequence[StoredEvent]) -> None:
    """The one function every service calls after its transaction commits.

    A failed publish loses nothing: the rooms catch up from the event log when they see a gap or
    restart. So a failure is logged, never raised into the request that already committed.
    """
    if not events:
        return
    try:
        await publisher.publish(events)
    except Exception:
        log.warning(
            "publish of %d committed events failed; rooms will catch up", len(events), exc_info=True
        )
