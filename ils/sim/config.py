"""The simulated lab's shape: stations, staff, machines, shifts, service times and failure rates.

Time in the model is measured in minutes. Every default below is derived from DOMAIN.md's scale
references so that a default lab behaves like a mid-sized surfacing lab (about 400 jobs a day):

- An industrial edger does 150-250 jobs a day: over two 8 h shifts that is 4-6 min a job, so edging
  is 5 min on average.
- Surfacing (blocking, generating, fining/polishing, engraving, deblocking) is tens of minutes of
  machine cycle per job: 24 min, with free-form progressives 25% longer.
- AR coating is "about 4 hours end to end" in batch vacuum chambers: a 240 min chamber cycle.
  Hard coat (dip and thermal cure) is a shorter batch, 90 min.
- A large lab does about 28 jobs per staff-day; staff counts below give about that ratio.
- Finishing (edging, mounting) spoils about 30% more than the other departments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from ils.domain.station import Station

Distribution = Literal["lognormal", "gamma"]


@dataclass(frozen=True)
class ServiceTime:
    """A positive service-time distribution given by its mean (minutes) and coefficient of
    variation; lognormal for manual work (right-skewed), gamma for machine cycles."""

    mean_min: float
    cv: float
    dist: Distribution = "lognormal"


@dataclass(frozen=True)
class StationProfile:
    service: ServiceTime
    staff: int
    machines: int = 0  # 0: the station has no machine constraint (manual benches)
    batch_size: int = 1  # > 1: a batch chamber that runs up to this many jobs per cycle
    batch_wait_min: float = 0.0  # how long a chamber waits to fill before it runs anyway
    load_min: float = 0.0  # staff time to load a batch chamber
    breakage: float = 0.0  # base probability that a visit breaks the lens
    lens_factor: dict[str, float] = field(default_factory=dict)  # service-time multiplier by type

    @property
    def is_batch(self) -> bool:
        return self.batch_size > 1


@dataclass(frozen=True)
class Shift:
    name: str
    start_hour: int
    end_hour: int  # exclusive; may be smaller than start_hour for a shift across midnight
    staff_fraction: float

    def covers(self, hour: int) -> bool:
        if self.start_hour < self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour


@dataclass(frozen=True)
class LabConfig:
    stations: dict[Station, StationProfile]
    shifts: tuple[Shift, ...]
    start: datetime = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    hold_rate: float = 0.015  # share of jobs put on hold at order entry
    hold_mean_min: float = 240.0
    cancel_after_hold: float = 0.1  # share of held jobs that are cancelled instead of released
    high_power_breakage_factor: float = 1.6  # |sphere| or |cylinder| above 4 D
    prism_breakage_factor: float = 1.3
    finishing_breakage_factor: float = 1.3  # DOMAIN.md: finishing spoils ~30% more
    batch_failure_rate: float = 0.01  # a whole coating batch fails (chamber fault)
    inspection_noise: float = 0.35  # measurement sd as a fraction of the field's tolerance
    transit_days_mean: float = 1.8
    carriers: tuple[str, ...] = ("UPS", "FedEx", "USPS")

    def with_staff(self, station: Station, staff: int) -> LabConfig:
        stations = dict(self.stations)
        stations[station] = replace(stations[station], staff=staff)
        return replace(self, stations=stations)


def default_shifts() -> tuple[Shift, ...]:
    return (
        Shift("day", 6, 14, 1.0),
        Shift("swing", 14, 22, 0.7),
        Shift("night", 22, 6, 0.3),
    )


def default_stations() -> dict[Station, StationProfile]:
    prog = {"progressive": 1.25, "occupational": 1.2, "bifocal": 1.1}
    return {
        Station.ORDER_ENTRY: StationProfile(ServiceTime(3.0, 0.5), staff=2, breakage=0.0),
        Station.PICKING: StationProfile(ServiceTime(4.0, 0.4), staff=2, breakage=0.002),
        Station.SURFACING: StationProfile(
            ServiceTime(24.0, 0.35, "gamma"), staff=9, machines=10, breakage=0.02, lens_factor=prog
        ),
        Station.HARD_COAT: StationProfile(
            ServiceTime(90.0, 0.1, "gamma"),
            staff=1,
            machines=2,
            batch_size=24,
            batch_wait_min=30.0,
            load_min=8.0,
            breakage=0.008,
        ),
        Station.AR_COAT: StationProfile(
            ServiceTime(240.0, 0.1, "gamma"),
            staff=2,
            machines=3,
            batch_size=30,
            batch_wait_min=45.0,
            load_min=15.0,
            breakage=0.012,
        ),
        Station.TINTING: StationProfile(ServiceTime(30.0, 0.5), staff=1, machines=4, breakage=0.01),
        Station.EDGING: StationProfile(
            ServiceTime(5.0, 0.4, "gamma"), staff=3, machines=4, breakage=0.02
        ),
        Station.MOUNTING: StationProfile(
            ServiceTime(8.0, 0.5), staff=4, breakage=0.015, lens_factor={"progressive": 1.1}
        ),
        Station.FINAL_INSPECTION: StationProfile(ServiceTime(4.0, 0.4), staff=2),
        Station.SHIPPING: StationProfile(ServiceTime(3.0, 0.4), staff=2),
    }


def default_lab_config(start: datetime | None = None) -> LabConfig:
    config = LabConfig(stations=default_stations(), shifts=default_shifts())
    return config if start is None else replace(config, start=start)
