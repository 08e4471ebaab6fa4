"""The lab as a discrete-event model (simpy): jobs flow through stations and emit LIMS events.

Pure apart from simpy: no network and no wall clock. Time is in model minutes from
``config.start``; randomness comes from the seeded generator passed in, split into independent
streams (service times, breakage, inspection, holds, shipping, ids) so that changing one part of
the lab does not reshuffle the draws of the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import simpy

from ils.domain.station import Station
from ils.sim.breakage import (
    BATCH_FAILURE_REASON,
    breakage_probability,
    draw_reason,
    restart_station,
)
from ils.sim.config import LabConfig, ServiceTime
from ils.sim.events import EventFactory
from ils.sim.inspection import measure
from ils.sim.job import Job, job_from_order
from ils.sim.staff import StaffPool
from ils.sim.trace import StationTrace

Emit = Callable[[dict[str, Any]], None]
Process = Generator[simpy.Event, Any, Any]
Broken = tuple[str, bool] | None  # (reason code, reworkable) when a visit broke the lens

FRAME_MOUNT_FACTOR = {"rimless": 1.8, "semi_rimless": 1.3}
HOLD_REASONS = ("frame_not_received", "rx_query", "account_on_hold")


@dataclass(frozen=True)
class Ticket:
    job_id: str
    estimated_completion: datetime


class LabModel:
    def __init__(self, config: LabConfig, rng: np.random.Generator, emit: Emit | None = None):
        self.config = config
        self.env = simpy.Environment()
        streams = rng.spawn(6)
        self._service_rng, self._break_rng, self._inspect_rng = streams[:3]
        self._hold_rng, self._ship_rng = streams[3:5]
        self.factory = EventFactory(config.start, streams[5])
        self.emitted: list[dict[str, Any]] = []
        self._emit: Emit = emit if emit is not None else self.emitted.append
        self.jobs: dict[str, Job] = {}
        self._next_job = int(streams[5].integers(10_000, 90_000))
        self.traces = {s: StationTrace() for s in config.stations}
        self.staff = {s: StaffPool(self.env, p.staff) for s, p in config.stations.items()}
        self.machines: dict[Station, simpy.PriorityResource] = {}
        self.downtime: list[tuple[Station, float, float]] = []  # (station, from, until)
        self._chambers: dict[Station, simpy.Store] = {}
        for station, profile in config.stations.items():
            if profile.machines > 0 or profile.is_batch:
                self.machines[station] = simpy.PriorityResource(self.env, max(1, profile.machines))
            if profile.is_batch:
                self._chambers[station] = simpy.Store(self.env)
                for _ in range(max(1, profile.machines)):
                    self.env.process(self._chamber(station))
        self.env.process(self._shift_clock())

    # ----------------------------------------------------------------- public API
    @property
    def now(self) -> float:
        return float(self.env.now)

    def moment(self, minutes: float | None = None) -> datetime:
        return self.factory.moment(self.now if minutes is None else minutes)

    def submit(self, order: Mapping[str, Any]) -> Ticket:
        """Accept an order as a job now; raises ``JobRejected`` for an order it cannot make."""
        job = job_from_order(order, f"J-{self._next_job}", self.now)
        self._next_job += 1
        self.jobs[job.job_id] = job
        self.env.process(self._job_flow(job))
        return Ticket(job.job_id, self.moment(self.now + self.estimated_lead_min(job)))

    def run_until(self, minutes: float) -> None:
        if minutes > self.env.now:
            self.env.run(until=minutes)

    def set_staff(self, station: Station, staff: int) -> None:
        """Change a station's nominal staff while the model runs (shifts still scale it)."""
        self.staff[station].set_nominal(staff)
        self.traces[station].staff.append((self.now, self.staff[station].level))

    def machine_down(self, station: Station, minutes: float | None = None) -> simpy.Event:
        """Take one of the station's machines out of service after its current job, for
        ``minutes`` or until the returned event is triggered (``event.succeed()``: repaired)."""
        repaired = self.env.event()
        if station in self.machines:
            self.env.process(self._down(station, repaired, minutes))
        return repaired

    def _down(self, station: Station, repaired: simpy.Event, minutes: float | None) -> Process:
        with self.machines[station].request(priority=0) as slot:
            yield slot
            began = self.now
            yield repaired if minutes is None else repaired | self.env.timeout(minutes)
            self.downtime.append((station, began, self.now))

    def station_state(self) -> dict[str, dict[str, int]]:
        return {
            station.value: {
                "queue": trace.waiting,
                "in_process": trace.in_process,
                "staff": self.staff[station].level,
                "machines": self.config.stations[station].machines,
            }
            for station, trace in self.traces.items()
        }

    def estimated_lead_min(self, job: Job) -> float:
        """Mean service along the route plus the current queue ahead, divided by staff."""
        total = 0.0
        for station in job.route:
            profile = self.config.stations[station]
            service = profile.service.mean_min * self._factor(job, station)
            if profile.is_batch:
                total += service + profile.batch_wait_min / 2
                continue
            servers = max(1, self.staff[station].level)
            total += service * (1.0 + self.traces[station].waiting / servers)
        return total

    # ----------------------------------------------------------------- job flow
    def _job_flow(self, job: Job) -> Process:
        self._event(job, "job.accepted", "accepted")
        if self._hold_rng.random() < self.config.hold_rate:
            cancelled = yield from self._hold(job)
            if cancelled:
                return
        i = 0
        while i < len(job.route):
            station = job.route[i]
            broken = yield from self._visit(job, station)
            if broken is None:
                i += 1
                continue
            reason, rework = broken
            restart = restart_station(job, station, rework)
            job.breakages += 1
            shift = self._shift_name(self.now)
            self._event(job, "job.breakage", "broken", reason_code=reason,
                        restart_station=restart.value, shift=shift)  # fmt: skip
            i = job.route.index(restart)
        yield from self._ship(job)

    def _visit(self, job: Job, station: Station) -> Process:
        job.station = station
        self.traces[station].arrive(self.now)
        self._event(job, "job.station_changed", "queued")
        if self.config.stations[station].is_batch:
            ticket = self.env.event()
            yield self._chambers[station].put((job, ticket))
            batch_failed = yield ticket
            self.traces[station].end(self.now)
            return self._finish(job, station, bool(batch_failed))
        machine = self.machines.get(station)
        machine_req = machine.request(priority=1) if machine is not None else None
        if machine_req is not None:
            yield machine_req
        with self.staff[station].request() as staff_req:
            yield staff_req
            self._start(job, station)
            yield self.env.timeout(self._service(job, station))
        if machine is not None and machine_req is not None:
            machine.release(machine_req)
        self.traces[station].end(self.now)
        return self._finish(job, station, False)

    def _start(self, job: Job, station: Station) -> None:
        self.traces[station].start(self.now)
        self._event(job, "job.station_changed", "in_process")

    def _finish(self, job: Job, station: Station, batch_failed: bool) -> Broken:
        if batch_failed:
            return BATCH_FAILURE_REASON, True
        if self._break_rng.random() < breakage_probability(self.config, station, job):
            return draw_reason(station, self._break_rng)
        if station == Station.FINAL_INSPECTION:
            measured, passed = measure(
                job.rx, job.lens_type, self.config.inspection_noise, self._inspect_rng
            )
            self._event(job, "job.inspection", "passed" if passed else "failed",
                        measured=measured, **{"pass": passed})  # fmt: skip
            if not passed:
                return "inspection_power_miss", False
        self._event(job, "job.station_changed", "done")
        return None

    def _hold(self, job: Job) -> Process:
        job.station = Station.ORDER_ENTRY
        reason = HOLD_REASONS[int(self._hold_rng.integers(len(HOLD_REASONS)))]
        self._event(job, "job.on_hold", "on_hold", reason=reason)
        yield self.env.timeout(self._hold_rng.exponential(self.config.hold_mean_min))
        if self._hold_rng.random() < self.config.cancel_after_hold:
            self._event(job, "job.cancelled", "cancelled", reason=reason)
            job.finished = True
            return True
        self._event(job, "job.released", "released")
        return False

    def _ship(self, job: Job) -> Process:
        carriers = self.config.carriers
        carrier = carriers[int(self._ship_rng.integers(len(carriers)))]
        tracking = f"{carrier[:2].upper()}{self._ship_rng.integers(10**11, 10**12)}"
        self._event(job, "job.shipped", "shipped", carrier=carrier, tracking_number=tracking)
        mean = self.config.transit_days_mean * 1440.0
        transit = self._ship_rng.lognormal(math.log(mean) - 0.045, 0.3)
        yield self.env.timeout(transit)
        self._event(job, "job.delivered", "delivered")
        job.finished = True

    # ----------------------------------------------------------------- batch chambers
    def _chamber(self, station: Station) -> Process:
        profile = self.config.stations[station]
        store = self._chambers[station]
        while True:
            batch = [(yield store.get())]
            deadline = self.now + profile.batch_wait_min
            while len(batch) < profile.batch_size:
                get = store.get()
                yield get | self.env.timeout(max(0.0, deadline - self.now))
                if not get.triggered:
                    get.cancel()
                    break
                batch.append(get.value)
            with self.machines[station].request(priority=1) as chamber:
                yield chamber
                if profile.load_min > 0:
                    with self.staff[station].request() as loader:
                        yield loader
                        yield self.env.timeout(profile.load_min)
                for job, _ in batch:
                    self._start(job, station)
                yield self.env.timeout(self._draw(profile.service, 1.0))
            failed = self._break_rng.random() < self.config.batch_failure_rate
            for _, ticket in batch:
                ticket.succeed(failed)

    # ----------------------------------------------------------------- shifts and draws
    def _shift_name(self, minutes: float) -> str:
        hour = self.moment(minutes).hour
        return next((s.name for s in self.config.shifts if s.covers(hour)), "off")

    def _shift_clock(self) -> Process:
        while True:
            hour = self.moment().hour
            fraction = next((s.staff_fraction for s in self.config.shifts if s.covers(hour)), 0.0)
            for station, pool in self.staff.items():
                if pool.fraction != fraction:
                    pool.set_fraction(fraction)
                    self.traces[station].staff.append((self.now, pool.level))
            at = self.moment()
            next_hour = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            yield self.env.timeout((next_hour - at).total_seconds() / 60.0)

    def _factor(self, job: Job, station: Station) -> float:
        factor = self.config.stations[station].lens_factor.get(job.lens_type, 1.0)
        if station == Station.MOUNTING:
            factor *= FRAME_MOUNT_FACTOR.get(job.frame_type, 1.0)
        return factor

    def _service(self, job: Job, station: Station) -> float:
        return self._draw(self.config.stations[station].service, self._factor(job, station))

    def _draw(self, service: ServiceTime, factor: float) -> float:
        mean = service.mean_min * factor
        if service.dist == "gamma":
            shape = 1.0 / service.cv**2
            return float(self._service_rng.gamma(shape, mean / shape))
        sigma2 = math.log1p(service.cv**2)
        return float(self._service_rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))

    def _event(self, job: Job, kind: str, status: str, **data: Any) -> None:
        job.state = status
        self._emit(self.factory.make(job, kind, self.now, status, **data))
