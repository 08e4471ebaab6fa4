"""The LIMS relay: drains the transactional outbox to each lab's LIMS.

The outbox row is the truth. ``drain_once`` finds the labs with due rows, and gives each lab its
own task that claims a batch (``FOR UPDATE SKIP LOCKED``, as a lease), sends its orders (a window
of several at once that grows while the LIMS answers and shrinks to one when it fails) and records
each answer in its own transaction (:mod:`ils.services.relay_outcomes`). Per-lab
tasks are what keep one lab that hangs, answers garbage or resets from stalling the others:
``drain_once`` waits for them only ``drain_wait_s``, and a lab whose task is still running is not
started twice. Each lab has a circuit breaker (:mod:`ils.lims.breaker`); an open breaker claims
nothing, so its rows wait without being counted as attempts.

Exactly once, from the LIMS's side: a row is marked sent only in the transaction that records the
job id, every later write is guarded by the row still being pending, and the LIMS is given
``Idempotency-Key: <order id>``. A relay that dies between the LIMS's answer and that commit sends
the row again after its lease, and the LIMS returns the same job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ils.crypto import SealBroken, unseal
from ils.db import lims_config, orders, outbox
from ils.db.database import Database
from ils.domain.order_status import OrderStatus
from ils.lims.backoff import Backoff
from ils.lims.breaker import Breaker, BreakerPolicy, BreakerState
from ils.lims.client import ClientPolicy, LimsClient, LimsRejected, LimsUnavailable
from ils.services import relay_outcomes
from ils.services.instruments import BREAKER_LEVEL, BREAKER_STATE, OUTBOX_DEPTH, Meter, NullMeter
from ils.services.orders import order_view
from ils.services.ports import Clock, Publisher, publish_committed, utc_now
from ils.settings import Settings

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, str, ClientPolicy], LimsClient]


@dataclass(frozen=True)
class RelayPolicy:
    batch: int = 50
    client: ClientPolicy = field(default_factory=ClientPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    backoff: Backoff = field(default_factory=Backoff)
    poll_s: float = 0.5
    drain_wait_s: float = 1.0
    #: Most orders of one lab in flight at once. A lab's window starts at one, doubles with each
    #: answer and falls back to one on a failure (and while its breaker is not closed), so a LIMS
    #: that is down gets one request at a time and the breaker trips at its threshold exactly.
    concurrency: int = 8
    hold_recheck_s: float = 60.0

    @property
    def send_deadline_s(self) -> float:
        """The longest one send may take before the relay gives up on it."""
        return self.client.worst_case_s

    @property
    def lease_s(self) -> float:
        """How long a claimed row is left alone (longer than any send of the batch)."""
        return self.send_deadline_s + 30.0


@dataclass
class RelayStats:
    sent: int = 0
    rejected: int = 0
    retried: int = 0
    skipped_open: int = 0
    lab_errors: int = 0


@dataclass
class _Lab:
    lab_id: str
    version: int
    client: LimsClient
    breaker: Breaker
    saved: dict[str, Any]
    last_error: str | None = None
    #: Sends allowed in flight now (see ``RelayPolicy.concurrency``), and those in flight.
    window: int = 1
    in_flight: int = 0
    turn: asyncio.Condition = field(default_factory=asyncio.Condition)


def _wire(value: Any) -> Any:
    """The order view as JSON values (dates and times in RFC 3339)."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class Relay:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        settings: Settings,
        clock: Clock = utc_now,
        policy: RelayPolicy | None = None,
        *,
        client_factory: ClientFactory = LimsClient,
        rng: random.Random | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.settings = settings
        self.clock = clock
        self.policy = policy or RelayPolicy()
        self.client_factory = client_factory
        self.rng = rng or random.Random()
        self.meter: Meter = meter or NullMeter()
        self.stats = RelayStats()
        self._labs: dict[str, _Lab] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retired: list[LimsClient] = []

    def breaker(self, lab_id: str) -> Breaker | None:
        lab = self._labs.get(lab_id)
        return lab.breaker if lab else None

    async def drain_once(self) -> dict[str, Any]:
        """Start a task for every lab with due rows (unless one runs), wait for them a while."""
        now = self.clock()
        async with self.db.connection() as conn:
            due = await outbox.due_labs(conn, now)
        started = []
        for config in due:
            lab = await self._lab(config)
            if self._busy(lab.lab_id):
                continue
            if lab.breaker.budget(now, 1) == 0:
                self.stats.skipped_open += 1
                continue
            self._tasks[lab.lab_id] = asyncio.create_task(self._drain_lab(lab))
            started.append(lab.lab_id)
        pending = [t for t in self._tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.policy.drain_wait_s)
        self._reap()
        busy = sorted(lab for lab, task in self._tasks.items() if not task.done())
        return {"started": started, "busy": busy, "stats": dict(self.stats.__dict__)}

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Drain forever (or until ``stop``); a failed round is logged and the loop goes on."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.drain_once()
            except Exception:
                log.exception("the relay's drain failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.policy.poll_s)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        for client in [*self._retired, *(lab.client for lab in self._labs.values())]:
            await client.aclose()
        self._labs.clear()
        self._retired.clear()

    def _reap(self) -> None:
        for lab_id, task in list(self._tasks.items()):
            if task.done():
                del self._tasks[lab_id]
                if not task.cancelled() and task.exception() is not None:
                    self.stats.lab_errors += 1
                    log.error("relay for lab %s failed", lab_id, exc_info=task.exception())

    async def _lab(self, config: dict[str, Any]) -> _Lab:
        """The lab's client and breaker, rebuilt when its configuration changed."""
        lab_id, version = config["lab_id"], int(config["version"])
        known = self._labs.get(lab_id)
        if known is not None and known.version == version:
            return known
        if known is not None:
            self._retired.append(known.client)  # its task may still be using it
        try:
            key = unseal(self.settings, config["api_key_sealed"])
        except SealBroken:
            key = ""  # the LIMS will refuse it; the breaker and last_error show why
        client = self.client_factory(config["base_url"], key, self.policy.client)
        breaker = Breaker.from_snapshot(self.policy.breaker, config["breaker"])
        lab = _Lab(lab_id, version, client, breaker, dict(config["breaker"] or {}))
        self._labs[lab_id] = lab
        return lab

    def _busy(self, lab_id: str) -> bool:
        task = self._tasks.get(lab_id)
        return task is not None and not task.done()

    async def _drain_lab(self, lab: _Lab) -> None:
        now = self.clock()
        budget = lab.breaker.budget(now, self.policy.batch)
        if budget == 0:
            return
        lease = now + timedelta(seconds=self.policy.lease_s)
        async with self.db.transaction() as conn:
            rows = await outbox.claim(conn, lab.lab_id, now, lease, budget)
        held: list[outbox.OutboxRow] = []

        async def send(item: outbox.OutboxRow) -> None:
            async with lab.turn:
                await lab.turn.wait_for(lambda: lab.in_flight < self._window(lab))
                lab.in_flight += 1
            try:
                if held or lab.breaker.budget(self.clock(), 1) == 0:
                    held.append(item)  # the breaker opened meanwhile: keep the rest for later
                    return
                await self._send(lab, item)
            finally:
                async with lab.turn:
                    lab.in_flight -= 1
                    lab.turn.notify_all()

        try:
            outcomes = await asyncio.gather(*(send(item) for item in rows), return_exceptions=True)
            if held:
                await self._release(lab, held, self.clock())
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome  # every send has finished; the lease returns the row later
        finally:
            await self._save_breaker(lab)
            await self._report(lab)

    def _window(self, lab: _Lab) -> int:
        if lab.breaker.current(self.clock()).state != BreakerState.CLOSED:
            return 1  # probing: never more requests at once than the breaker lets through
        return lab.window

    def _answered(self, lab: _Lab) -> None:
        lab.window = min(self.policy.concurrency, lab.window * 2)

    async def _release(self, lab: _Lab, rows: list[outbox.OutboxRow], now: datetime) -> None:
        """Rows claimed before the breaker opened go back, due when it lets probes through."""
        at = lab.breaker.current(now).reopens_at or now
        async with self.db.transaction() as conn:
            await outbox.release(conn, [r.id for r in rows], at)

    async def _send(self, lab: _Lab, item: outbox.OutboxRow) -> None:
        async with self.db.connection() as conn:
            row = await orders.get_visible(conn, item.order_id, lab.lab_id)
        now = self.clock()
        if row is None or row["status"] == OrderStatus.CANCELLED:
            await relay_outcomes.abandoned(self.db, item, "the order was cancelled", now)
            return
        if row["status"] == OrderStatus.ON_HOLD:
            at = now + timedelta(seconds=self.policy.hold_recheck_s)
            await relay_outcomes.later(self.db, item, at, "the order is on hold", count=False)
            return
        lab.breaker = lab.breaker.started(now)
        try:
            async with asyncio.timeout(self.policy.send_deadline_s):
                answer = await lab.client.submit(_wire(order_view(row)), item.order_id)
        except LimsRejected as exc:
            lab.breaker = lab.breaker.succeeded(self.clock())  # it answered: it is up
            self._answered(lab)
            stored = await relay_outcomes.rejected(
                self.db, item, exc.reason, exc.status, self.clock()
            )
            self.stats.rejected += 1
            await publish_committed(self.publisher, stored)
        except (LimsUnavailable, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or "the LIMS did not answer in time"
            await self._retry(lab, item, reason, getattr(exc, "retry_after_s", None))
        else:
            lab.breaker = lab.breaker.succeeded(self.clock())
            self._answered(lab)
            stored = await relay_outcomes.accepted(self.db, item, answer, self.clock())
            self.stats.sent += 1
            await publish_committed(self.publisher, stored)

    async def _retry(
        self, lab: _Lab, item: outbox.OutboxRow, reason: str, retry_after_s: float | None
    ) -> None:
        now = self.clock()
        lab.breaker = lab.breaker.failed(now)
        lab.window = 1
        lab.last_error = reason
        delay = self.policy.backoff.delay(item.attempts + 1, self.rng, retry_after_s or 0.0)
        at = now + timedelta(seconds=delay)
        reopens = lab.breaker.reopens_at
        if reopens is not None:
            at = max(at, reopens)
        await relay_outcomes.later(self.db, item, at, reason)
        self.stats.retried += 1

    async def _report(self, lab: _Lab) -> None:
        """Breaker state and outbox depth of the lab, as metrics."""
        if isinstance(self.meter, NullMeter):
            return  # nobody is looking: spare the depth query
        tags = {"lab": lab.lab_id}
        state = str(lab.breaker.current(self.clock()).state)
        self.meter.set(BREAKER_STATE, BREAKER_LEVEL[state], tags)
        async with self.db.connection() as conn:
            depth = await outbox.depth(conn, lab.lab_id)
        self.meter.set(OUTBOX_DEPTH, float(depth["pending"]), tags)

    async def _save_breaker(self, lab: _Lab) -> None:
        now = self.clock()
        snap = lab.breaker.snapshot(now)
        if snap == lab.saved and lab.last_error is None:
            return
        async with self.db.connection() as conn:
            await lims_config.save_breaker(
                conn,
                lab.lab_id,
                lab.version,
                snap,
                lab.last_error,
                now if lab.last_error else None,
            )
        lab.saved, lab.last_error = snap, None
