"""The simulated LIMS: the lab model, job intake with idempotency, and webhook delivery."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np

from ils.domain.station import Station
from ils.sim.arrivals import self_arrivals
from ils.sim.clock import Pacer
from ils.sim.config import LabConfig, default_lab_config
from ils.sim.equipment import EquipmentFeed
from ils.sim.events import rfc3339
from ils.sim.model import LabModel
from ils.sim.outage import Outage
from ils.sim.uplink import TelemetryUplink
from ils.sim.webhook import DeliveryConfig, WebhookSender


@dataclass(frozen=True)
class LimsConfig:
    ils_base_url: str = "http://127.0.0.1:8000"
    lab_tenant_id: str = ""
    webhook_secret: str = ""
    api_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8700
    speed: float = 60.0  # simulated seconds per wall second
    seed: int = 0
    batch_size: int = 1
    flush_interval_s: float = 0.2
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    self_arrivals_per_day: float = 0.0  # benchmarks only; the demo lab's jobs come from ILS
    country: str = "US"
    telemetry: bool = True  # equipment telemetry with degradation and failures
    telemetry_token: str = ""  # a lab user's ILS access token to post telemetry with
    start: datetime | None = None  # model time zero; default: the wall clock at start-up
    lab: LabConfig | None = field(default=None, compare=False)

    @property
    def webhook_url(self) -> str:
        return f"{self.ils_base_url.rstrip('/')}/api/webhooks/lims/{self.lab_tenant_id}"


@dataclass
class IntakeStats:
    jobs_received: int = 0
    jobs_accepted: int = 0
    jobs_rejected: int = 0
    idempotent_replays: int = 0
    unauthorized: int = 0


class LimsSimulator:
    def __init__(
        self,
        config: LimsConfig,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        streams = np.random.default_rng(config.seed).spawn(4)
        model_rng, sender_rng, arrival_rng, equipment_rng = streams
        start = config.start or datetime.fromtimestamp(int(clock()), tz=UTC)
        lab = config.lab or default_lab_config(start)
        if config.lab is not None and config.start is not None:
            lab = replace(lab, start=config.start)
        self.outage = Outage()
        delivery = DeliveryConfig(
            url=config.webhook_url,
            secret=config.webhook_secret.encode(),
            batch_size=config.batch_size,
            flush_interval_s=config.flush_interval_s,
            duplicate_rate=config.duplicate_rate,
            reorder_rate=config.reorder_rate,
        )
        self.sender = WebhookSender(delivery, client, sender_rng, self.outage, clock)
        self.model = LabModel(lab, model_rng, emit=self.sender.enqueue)
        self.pacer = Pacer(self.model, config.speed)
        self.intake = IntakeStats()
        self.uplink: TelemetryUplink | None = None
        if config.telemetry:
            feed = EquipmentFeed(self.model, equipment_rng)
            self.uplink = TelemetryUplink(feed, client, config.ils_base_url, config.telemetry_token)
        self._by_key: dict[str, dict[str, Any]] = {}
        if config.self_arrivals_per_day > 0:
            self.model.env.process(
                self_arrivals(self.model, config.self_arrivals_per_day, arrival_rng, config.country)
            )

    def authorized(self, header: str | None) -> bool:
        ok = bool(self.config.api_key) and header == f"Bearer {self.config.api_key}"
        self.intake.unauthorized += not ok
        return ok

    def accept(self, order: Mapping[str, Any], key: str | None) -> dict[str, Any]:
        """Accept an order as a job; the same Idempotency-Key always returns the same job.

        Raises ``JobRejected`` (the HTTP edge answers 422) when the lab cannot make the order.
        """
        self.intake.jobs_received += 1
        if key is not None and key in self._by_key:
            self.intake.idempotent_replays += 1
            return self._by_key[key]
        self.pacer.step()  # the job arrives "now", not at the last tick
        try:
            ticket = self.model.submit(order)
        except ValueError:
            self.intake.jobs_rejected += 1
            raise
        self.intake.jobs_accepted += 1
        response = {
            "job_id": ticket.job_id,
            "status": "accepted",
            "estimated_completion": rfc3339(ticket.estimated_completion),
        }
        if key is not None:
            self._by_key[key] = response
        return response

    def advance(self, minutes: float) -> None:
        """Jump simulated time forward (tests and demos), then keep pacing from there."""
        self.model.run_until(self.model.now + max(0.0, minutes))
        self.pacer.set_speed(self.pacer.speed)

    def set_staff(self, station: Station, staff: int) -> None:
        self.model.set_staff(station, staff)

    def stats(self) -> dict[str, Any]:
        return {
            **self.intake.__dict__,
            **self.sender.stats.as_dict(),
            **(self.uplink.as_dict() if self.uplink is not None else {}),
            "events_pending": self.sender.pending,
            "sim_time": rfc3339(self.model.moment()),
            "speed": self.pacer.speed,
            "outage": self.outage.active(),
            "jobs_in_lab": sum(not job.finished for job in self.model.jobs.values()),
            "stations": self.model.station_state(),
        }
