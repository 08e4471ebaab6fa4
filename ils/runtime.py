"""The runtime of one process: connections and the services built on them.

Built once per API replica (and once per CLI command). It is the composition of ports and
services; the Ray wrappers in ``actors/`` hand it a publisher that reaches the tenant rooms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ils.bus import Bus
from ils.db.database import Database
from ils.db.migrate import migrate
from ils.services.anomaly import Anomaly
from ils.services.anomaly_model import InProcessAnomaly
from ils.services.bottleneck import Bottlenecks
from ils.services.bottleneck_model import InProcessBottlenecks
from ils.services.dcs_interop import DcsInterop
from ils.services.dispensing import Dispensing
from ils.services.forecasting import Forecasting
from ils.services.housekeeping import Housekeeping
from ils.services.identity import Identity
from ils.services.labour import Labour
from ils.services.lims import LabLims
from ils.services.lims_inbound import LimsInbound
from ils.services.metrics import Metrics
from ils.services.orders import Orders
from ils.services.ports import Clock, Gateways, Publisher, utc_now
from ils.services.quality import Quality
from ils.services.relay import Relay
from ils.services.remakes import Remakes
from ils.services.spc import ControlPoints
from ils.services.station_feed import StationFeed
from ils.services.stations import InProcessStations, Stations
from ils.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    gateways: Gateways
    clock: Clock = field(default=utc_now)

    identity: Identity = field(init=False)
    orders: Orders = field(init=False)
    lims: LabLims = field(init=False)
    relay: Relay = field(init=False)
    dcs: DcsInterop = field(init=False)
    forecasting: Forecasting = field(init=False)
    labour: Labour = field(init=False)
    dispensing: Dispensing = field(init=False)
    remakes: Remakes = field(init=False)
    quality: Quality = field(init=False)
    metrics: Metrics = field(init=False)
    spc: ControlPoints = field(init=False)
    stations: Stations = field(init=False)
    lims_inbound: LimsInbound = field(init=False)
    bottlenecks: Bottlenecks = field(init=False)
    anomaly: Anomaly = field(init=False)

    def __post_init__(self) -> None:
        self.identity = Identity(self.db, self.settings, self.bus)
        self.orders = Orders(self.db, self.publisher)
        self.lims = LabLims(self.db, self.settings)
        self.relay = Relay(
            self.db, self.publisher, self.settings, self.clock, meter=self.gateways.metrics
        )
        self.dcs = DcsInterop(self.db, self.orders)
        self.forecasting = Forecasting(self.db, self.gateways.forecasts, self.clock)
        self.labour = Labour(self.forecasting)
        self.dispensing = Dispensing(self.db, self.clock)
        self.remakes = Remakes(self.db, self.publisher, self.orders, self.settings)
        self.quality = Quality(self.db, self.publisher)
        self.metrics = Metrics(self.db, self.clock)
        upkeep_s = self.settings.upkeep_every_s
        self.housekeeping = Housekeeping(self.db, self.metrics.figures, upkeep_s)
        self.spc = ControlPoints(self.db, self.publisher, self.gateways.metrics)
        station_port = self.gateways.stations or InProcessStations(self.db)
        self.stations = Stations(self.db, station_port, self.publisher)
        if self.gateways.stations_in_background:
            self.stations.feed = StationFeed(self.stations)
        detectors = self.gateways.bottlenecks or InProcessBottlenecks(self.db, station_port)
        self.bottlenecks = Bottlenecks(self.db, detectors, self.publisher, self.clock)
        self.stations.observers.append(self.bottlenecks.after_movements)
        anomaly_port = self.gateways.anomaly or InProcessAnomaly(self.db)
        self.anomaly = Anomaly(self.db, anomaly_port, self.publisher, self.forecasting, self.clock)
        self.stations.observers.append(self.anomaly.after_movements)
        self.lims_inbound = LimsInbound(
            self.db,
            self.publisher,
            self.stations,
            self.gateways.metrics,
            settings=self.settings,
            bus=self.bus,
        )

    @property
    def publisher(self) -> Publisher:
        return self.gateways.publisher

    @classmethod
    async def open(
        cls,
        settings: Settings,
        gateways: Gateways | None = None,
        *,
        run_migrations: bool = True,
        clock: Clock = utc_now,
    ) -> Runtime:
        db = await Database.connect(settings)
        if run_migrations:
            async with db.connection() as conn:
                await migrate(conn)
        return cls(settings, db, Bus.connect(settings), gateways or Gateways(), clock)

    async def close(self) -> None:
        await self.stations.settle()
        await self.bottlenecks.close()
        await self.relay.close()
        await self.dispensing.close()
        await self.bus.close()
        await self.db.close()
