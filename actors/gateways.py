"""The Ray-backed implementations of the ``Gateways`` ports, built on each API replica."""

from __future__ import annotations

from typing import Any

from actors.anomaly import RayAnomaly
from actors.bottleneck import RayBottlenecks
from actors.forecast import forecast_model
from actors.metrics import RayMeter
from actors.room import RayRooms
from actors.station import RayStations
from ils.services.forecast_model import FitRequest, ServedModel
from ils.services.ports import Gateways
from ils.services.rooms import RoomsPublisher
from ils.settings import Settings


class RayForecaster:
    """Each lab's model in its ``ForecastModel`` actor; handles are cached per replica."""

    def __init__(self) -> None:
        self._handles: dict[str, Any] = {}

    async def serve(self, request: FitRequest) -> ServedModel:
        handle = self._handles.get(request.lab_id)
        if handle is None:
            handle = self._handles[request.lab_id] = forecast_model(request.lab_id)
        served: ServedModel = await handle.serve.remote(request)
        return served


def gateways_factory(settings: Settings) -> Gateways:
    """The ports of an API replica on Ray."""
    rooms = RayRooms(settings)
    return Gateways(
        publisher=RoomsPublisher(rooms),
        rooms=rooms,
        forecasts=RayForecaster(),
        stations=RayStations(settings),
        bottlenecks=RayBottlenecks(settings),
        metrics=RayMeter(),
        anomaly=RayAnomaly(settings),
        stations_in_background=True,
    )
