"""One lab's anomaly model: streaming detector state and its 48-hour failure model.

``LabAnomaly`` is what the ``AnomalyModel`` Ray actor holds (``actors/anomaly.py``) and what
``InProcessAnomaly`` holds per lab without Ray. Its owner serialises calls (one actor per lab).

- ``intake`` takes a telemetry batch in one call: it validates it (``check_readings``: per-reading
  verdicts), stores it (one COPY, one transaction) and feeds the committed, accepted readings to
  their machines' detectors, one pass per machine (``observe_batch``); it returns the verdicts and
  the findings (alert de-duplication is the database's: ``ils.db.alerts``). Only the intake state
  of the machines in the batch moves, and only once the batch is stored.
- State survives a restart by rebuild (``load``): the registry from ``equipment`` and every
  machine's detectors replayed from its last ``REBUILD_WINDOW`` of telemetry in PostgreSQL.
- The failure model is trained on the lab's own telemetry and equipment events, on a worker thread,
  on demand (``train``) and on a schedule (a risk request or a recorded failure starts a training
  when the model is missing or older than ``RETRAIN_AFTER``). Too little history is answered
  honestly: ``model: "insufficient-history"`` with the counts, never a probability.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from ils.analytics.anomaly.equipment import MachineState, observe_batch
from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.lab import LabAnomalyState, register_equipment
from ils.analytics.anomaly.line import RUN, LineWatch, Period, inspection_errors
from ils.analytics.anomaly.validation import IntakeState, Verdict, check_readings
from ils.analytics.failure.dataset import EquipmentEvent, build_dataset
from ils.analytics.failure.features import MachineSeries, machine_features
from ils.analytics.failure.model import FailureModel, TrainingParams, train_failure_model
from ils.analytics.failure.risk import failure_risk, risk_finding
from ils.db import equipment as equipment_db
from ils.db import lab_signals, telemetry
from ils.db.database import Database
from ils.domain.station import LINE

log = logging.getLogger(__name__)

REBUILD_WINDOW = timedelta(days=2)
RETRAIN_AFTER = timedelta(hours=24)
#: Without a model, a training is attempted at most this often (history grows slowly).
RETRY_AFTER = timedelta(hours=1)
#: Each machine's failure risk is evaluated at most this often as its readings arrive.
RISK_EVERY = timedelta(hours=1)
#: How far back readings are read: for training, and for a machine's risk (its features need the
#: segment since its last reset). Older than the raw retention there is nothing to read anyway.
RISK_LOOKBACK = timedelta(days=telemetry.RAW_RETENTION_DAYS)
#: Minimum history before a failure model is trained (machines held out in folds need peers).
REQUIRED = {"machines": 3, "failures": 3, "days": 14.0}
TRAINING_SEED = 8
_HOUR = 3600.0
#: Movements read per station to rebuild the line (the latest; more than two days of a busy lab).
LINE_REBUILD_LIMIT = 20_000


@dataclass(frozen=True)
class TrainedModel:
    model: FailureModel
    trained_at: datetime
    history: dict[str, Any]


def history_counts(
    series: Sequence[MachineSeries], events: Sequence[EquipmentEvent]
) -> dict[str, Any]:
    times = [s.times for s in series if s.times.size]
    span = (max(t.max() for t in times) - min(t.min() for t in times)) / 86400.0 if times else 0.0
    return {
        "machines": sum(1 for s in series if s.times.size),
        "failures": sum(1 for e in events if e.type == "failure"),
        "days": round(float(span), 2),
        "readings": int(sum(s.times.size for s in series)),
    }


def enough(counts: Mapping[str, Any]) -> bool:
    return all(counts[k] >= v for k, v in REQUIRED.items())


def fit(
    series: Sequence[MachineSeries], events: Sequence[EquipmentEvent], params: TrainingParams
) -> FailureModel:
    """CPU-bound: run it on a worker thread. Raises ValueError when the labels are one-sided."""
    data = build_dataset(series, events)
    return train_failure_model(data, np.random.default_rng(TRAINING_SEED), params)


def same_metric_machines(series: Sequence[MachineSeries]) -> list[MachineSeries]:
    """The machines reporting the lab's most common metric set (one model per metric set)."""
    if not series:
        return []
    common = Counter(s.metrics for s in series).most_common(1)[0][0]
    return [s for s in series if s.metrics == common]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (in nested dicts) replaced by None: JSON-ready."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value


def held_row(v: Verdict, at: datetime, wire: Mapping[str, Any]) -> dict[str, Any] | None:
    """The quarantine row of a quarantined reading (None for any other verdict)."""
    if v.outcome != "quarantined":
        return None
    reading = finite(dict(wire))
    return {
        "equipment_id": v.equipment_id,
        "at": at,
        "code": v.code,
        "detail": v.detail,
        "reading": reading,
    }


class LabAnomaly:
    def __init__(self, db: Database, lab_id: str, params: TrainingParams | None = None) -> None:
        self.db = db
        self.lab_id = lab_id
        self.params = params or TrainingParams()
        self.state = LabAnomalyState(lab_id)
        self.loaded = False
        self.trained: TrainedModel | None = None
        self.history: dict[str, Any] | None = None  # counts of the last attempt
        self.training: asyncio.Task[None] | None = None
        self.failed: str | None = None
        self.attempted_at: datetime | None = None
        self.risk_checked: dict[str, datetime] = {}
        self._intake_lock = asyncio.Lock()
        self.line = LineWatch()
        self.line_until = -math.inf  # the latest movement the line was rebuilt from
        self._line_lock = asyncio.Lock()

    # --- streaming detectors -----------------------------------------------------------------
    async def load(self) -> None:
        """Registry from PostgreSQL; detectors replayed over the recent telemetry window."""
        async with self.db.connection() as conn:
            machines = await equipment_db.all_equipment(conn, self.lab_id)
            latest = await telemetry.latest(conn, self.lab_id)
            recent = {}
            if latest is not None:
                recent = await telemetry.readings_since(conn, self.lab_id, latest - REBUILD_WINDOW)
        state = LabAnomalyState(self.lab_id)
        for m in machines:
            state = register_equipment(state, m["id"], m["metrics"])
        self.state = state
        self._replay(recent)
        await self._rebuild_line()
        self.loaded = True

    async def _rebuild_line(self) -> None:
        """The line's open period, queues and hourly history replayed from the stations' recent
        movements (the findings of the replayed hours were raised before, or are stale)."""
        line = LineWatch()
        hours = line.params.keep + RUN + 1
        async with self.db.connection() as conn:
            stations = [str(s) for s in LINE]
            moves = await lab_signals.recent_movements(
                conn, self.lab_id, stations, LINE_REBUILD_LIMIT
            )
        if moves:
            latest = max(at for *_, at in moves)
            start = latest - hours * line.params.period_s
            moves = [m for m in moves if m[3] >= start]
        self.line = line
        await self._close_periods(self.line.feed(moves))
        self.line_until = max((at for *_, at in moves), default=-math.inf)

    def _replay(self, recent: Mapping[str, list[tuple[float, dict[str, float]]]]) -> None:
        machines = dict(self.state.machines)
        last_at = dict(self.state.intake.last_at)
        for eid, readings in recent.items():
            metrics = self.state.registry.get(eid)
            if metrics is None or not readings:
                continue
            times = [at for at, _ in readings]
            machines[eid], _ = observe_batch(
                MachineState.empty(eid, metrics), times, [v for _, v in readings]
            )
            last_at[eid] = readings[-1][0]
        intake = IntakeState(last_at, dict(self.state.intake.buckets))
        self.state = replace(self.state, machines=machines, intake=intake)

    def register(self, equipment_id: str, metrics: Sequence[str]) -> None:
        self.state = register_equipment(self.state, equipment_id, tuple(metrics))

    def check(self, readings: Sequence[Mapping[str, Any]], now: float) -> list[Verdict]:
        intake, verdicts = check_readings(self.state.intake, readings, self.state.registry, now)
        self.state = replace(self.state, intake=intake)
        return verdicts

    async def intake(
        self, readings: Sequence[Mapping[str, Any]], now: datetime
    ) -> tuple[list[Verdict], list[Finding]]:
        """A telemetry batch (``at`` as datetimes): checked, stored, then fed to the detectors.

        One batch at a time per lab, from check to detectors, so the detectors see readings in
        the order they were checked and stored. Accepted readings go in with one COPY and the
        quarantined ones with one INSERT, in one transaction; the intake state (last reading
        time, flood buckets) moves only once that transaction has committed.
        """
        async with self._intake_lock:
            wire = [{**r, "at": r["at"].timestamp()} for r in readings]
            state = self.state
            intake, verdicts = check_readings(state.intake, wire, state.registry, now.timestamp())
            accepted = [dict(readings[v.index]) for v in verdicts if v.outcome == "accepted"]
            rows = [held_row(v, readings[v.index]["at"], wire[v.index]) for v in verdicts]
            held = [h for h in rows if h is not None]
            if accepted or held:
                async with self.db.transaction() as conn:
                    await telemetry.copy_readings(conn, self.lab_id, accepted)
                    await telemetry.quarantine(conn, self.lab_id, held, now)
            self.state = replace(self.state, intake=intake)
            return verdicts, self.observe(
                [wire[v.index] for v in verdicts if v.outcome == "accepted"]
            )

    def observe(self, readings: Sequence[Mapping[str, Any]]) -> list[Finding]:
        """Feed accepted, committed readings (in order) to their machines' detectors.

        The batch is split by machine (each machine's readings keep their order) and each
        machine's share goes through its detectors in one pass (``observe_batch``).
        """
        by_machine: dict[str, tuple[list[float], list[Mapping[str, float]]]] = {}
        for r in readings:
            times, values = by_machine.setdefault(str(r["equipment_id"]), ([], []))
            at = float(r["at"])
            if times and at <= times[-1]:
                continue  # out of order within the batch: the check lets none through
            times.append(at)
            values.append(r["metrics"])
        machines = dict(self.state.machines)
        findings: list[Finding] = []
        for eid, (times, values) in by_machine.items():
            m = machines.get(eid) or MachineState.empty(eid, self.state.registry[eid])
            fresh = [i for i, at in enumerate(times) if at > m.last_at]  # skip a rebuild's replay
            if not fresh:
                continue
            machines[eid], scores = observe_batch(
                m, [times[i] for i in fresh], [values[i] for i in fresh]
            )
            findings.extend(f for score in scores for f in score.findings)
        self.state = replace(self.state, machines=machines)
        return findings

    # --- process and quality ------------------------------------------------------------------
    async def movements(self, moves: Sequence[tuple[str, str, str, float]]) -> list[Finding]:
        """Committed station movements ``(station, job, status, epoch s)``: when they close a
        period of the line, its process and quality findings (breakages and inspections of the
        period read from PostgreSQL, committed)."""
        async with self._line_lock:
            fresh = [m for m in moves if m[3] > self.line_until]  # not in the rebuild already
            return await self._close_periods(self.line.feed(fresh))

    async def _close_periods(self, periods: Sequence[Period]) -> list[Finding]:
        findings: list[Finding] = []
        for period in periods:
            since, until = _at(period.start), _at(period.end)
            async with self.db.connection() as conn:
                broken = await lab_signals.breakages(conn, self.lab_id, since, until)
                verdicts = await lab_signals.inspection_verdicts(conn, self.lab_id, since, until)
            by_station: Counter[str] = Counter()
            for (station, _), n in broken.items():
                by_station[station] += n
            errors = [(at, f, e) for at, v in verdicts for f, e in inspection_errors(v)]
            findings += self.line.process_findings(period, by_station)
            findings += self.line.quality_findings(period, broken, errors)
        return findings

    def machine_status(self) -> dict[str, dict[str, Any]]:
        return {
            eid: {"last_at": m.last_at, "readings": min(s.n for s in m.per_metric.values())}
            for eid, m in self.state.machines.items()
        }

    # --- failure model ------------------------------------------------------------------------
    async def _load_history(
        self, now: datetime
    ) -> tuple[list[MachineSeries], list[EquipmentEvent]]:
        since = now - RISK_LOOKBACK
        async with self.db.connection() as conn:
            machines = await equipment_db.all_equipment(conn, self.lab_id)
            readings = await telemetry.readings_since(conn, self.lab_id, since)
            rows = await equipment_db.events(conn, self.lab_id)
        series = []
        for m in machines:
            times, values = telemetry.as_arrays(readings.get(m["id"], []), m["metrics"])
            series.append(MachineSeries(m["id"], tuple(m["metrics"]), times, values))
        events = [EquipmentEvent(e["equipment_id"], e["type"], e["at"].timestamp()) for e in rows]
        return series, events

    async def train(self, now: datetime) -> dict[str, Any]:
        """Train now on the lab's history (awaits the fit, which runs on a worker thread)."""
        series, events = await self._load_history(now)
        series = same_metric_machines(series)
        counts = history_counts(series, events)
        self.history = counts
        if not enough(counts):
            return self.status()
        try:
            model = await asyncio.to_thread(fit, series, events, self.params)
        except ValueError as exc:
            self.failed = str(exc)
            return self.status()
        self.trained, self.failed = TrainedModel(model, now, counts), None
        return self.status()

    def schedule_training(self, now: datetime, force: bool = False) -> bool:
        """Start a background training when due (or ``force``); False if one is running."""
        if self.training is not None and not self.training.done():
            return False
        if self.trained is not None:
            due = now - self.trained.trained_at >= RETRAIN_AFTER
        else:
            due = self.attempted_at is None or now - self.attempted_at >= RETRY_AFTER
        if not (due or force):
            return False
        self.attempted_at = now
        self.training = asyncio.get_running_loop().create_task(self._train_logged(now))
        return True

    async def _train_logged(self, now: datetime) -> None:
        try:
            await self.train(now)
        except Exception as exc:
            log.warning("failure model training of lab %s failed", self.lab_id, exc_info=True)
            self.failed = f"{type(exc).__name__}: {exc}"[:300]

    async def sweep(self, equipment_ids: Sequence[str], now: datetime) -> list[Finding]:
        """Failure-risk findings of the machines whose hourly evaluation is due."""
        self.schedule_training(now)
        if self.trained is None:
            return []
        found = []
        for eid in sorted(set(equipment_ids)):
            last = self.risk_checked.get(eid)
            if last is not None and now - last < RISK_EVERY:
                continue
            self.risk_checked[eid] = now
            _, finding = await self.risk(eid, now)
            if finding is not None:
                found.append(finding)
        return found

    def status(self) -> dict[str, Any]:
        t = self.trained
        running = self.training is not None and not self.training.done()
        return {
            "model": t.model.name if t else self._no_model(),
            "trained_at": t.trained_at.isoformat() if t else None,
            "threshold": t.model.threshold if t else None,
            "false_alarms_per_machine_month": t.model.choice.false_per_machine_month if t else None,
            "held_out_recall": t.model.choice.recall if t else None,
            "history": (t.history if t else self.history),
            "required": REQUIRED,
            "training": running,
            "failed": self.failed,
        }

    def _no_model(self) -> str:
        if self.history is not None and not enough(self.history):
            return "insufficient-history"
        if self.failed is not None:
            return "insufficient-history"
        return "training"

    async def risk(self, equipment_id: str, now: datetime) -> tuple[dict[str, Any], Finding | None]:
        """The machine's failure risk now (and the alert finding when it is in alarm)."""
        self.schedule_training(now)
        if self.trained is None:
            return self._no_risk(), None
        series, events = await self._machine_history(equipment_id, now)
        model = self.trained.model
        if series.metrics != model.metrics:
            return {**self._no_risk(), "model": "metrics-differ-from-lab-model"}, None
        risk = await asyncio.to_thread(failure_risk, model, series, events, now.timestamp())
        body = {**risk.as_dict(), "threshold": model.threshold, "in_alarm": risk.in_alarm}
        return body, risk_finding(risk, model.threshold)

    def _no_risk(self) -> dict[str, Any]:
        status = self.status()
        return {
            "probability_48h": None,
            "expected_failure_within_h": None,
            "signals": [],
            "model": status["model"],
            "history": status["history"],
            "required": REQUIRED,
        }

    async def _machine_history(
        self, equipment_id: str, now: datetime
    ) -> tuple[MachineSeries, list[EquipmentEvent]]:
        async with self.db.connection() as conn:
            m = await equipment_db.one(conn, self.lab_id, equipment_id)
            rows = await equipment_db.events(conn, self.lab_id, equipment_id)
            resets = [e["at"] for e in rows if e["type"] != "failure" and e["at"] <= now]
            since = max([now - RISK_LOOKBACK, *resets])
            readings = await telemetry.readings_since(conn, self.lab_id, since, equipment_id)
        metrics = tuple(m["metrics"]) if m else ()
        times, values = telemetry.as_arrays(readings.get(equipment_id, []), metrics)
        events = [EquipmentEvent(e["equipment_id"], e["type"], e["at"].timestamp()) for e in rows]
        return MachineSeries(equipment_id, metrics, times, values), events

    async def precursor(self, equipment_id: str, failed_at: datetime) -> dict[str, Any]:
        """Was this failure forewarned? The model's alarms 2-48 h before it, or none: sudden."""
        if self.trained is None:
            return {"precursor": "unknown", "reason": "no failure model yet"}
        model = self.trained.model
        series, events = await self._machine_history(equipment_id, failed_at)
        if series.metrics != model.metrics:
            return {"precursor": "unknown", "reason": "metrics differ from the lab model"}
        return await asyncio.to_thread(precursor_of, model, series, events, failed_at.timestamp())


def precursor_of(
    model: FailureModel,
    series: MachineSeries,
    events: Sequence[EquipmentEvent],
    failed_at: float,
) -> dict[str, Any]:
    """The model's alarms over the 2-48 h before ``failed_at`` (the scoring window)."""
    resets = [e.at for e in events if e.type != "failure" and e.at < failed_at]
    frame = machine_features(series, resets, until=failed_at)
    p = model.smoothed(frame.x)
    window = (frame.times >= failed_at - 48 * _HOUR) & (frame.times <= failed_at - 2 * _HOUR)
    alarms = window & (p >= model.threshold)
    base = {"threshold": model.threshold, "samples_before": int(window.sum())}
    if not window.any():
        return {**base, "precursor": "unknown", "reason": "no readings in the 48 h before"}
    if not alarms.any():
        peak = float(p[window].max())
        return {**base, "precursor": "none", "cause": "sudden", "max_probability_48h": peak}
    first = float(frame.times[alarms][0])
    return {
        **base,
        "precursor": "predicted",
        "first_alarm_at": datetime.fromtimestamp(first, UTC).isoformat(),
        "lead_time_h": round((failed_at - first) / _HOUR, 2),
        "max_probability_48h": float(p[window].max()),
    }


class AnomalyPort(Protocol):
    """Where each lab's ``LabAnomaly`` lives (an ``AnomalyModel`` actor per lab, or in-process)."""

    async def register(self, lab_id: str, equipment_id: str, metrics: Sequence[str]) -> None: ...

    async def check(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]], now: float
    ) -> list[Verdict]: ...

    async def observe(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]]
    ) -> list[Finding]: ...

    async def intake(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]], now: datetime
    ) -> tuple[list[Verdict], list[Finding]]: ...

    async def movements(
        self, lab_id: str, moves: Sequence[tuple[str, str, str, float]]
    ) -> list[Finding]: ...

    async def risk(
        self, lab_id: str, equipment_id: str, now: datetime
    ) -> tuple[dict[str, Any], Finding | None]: ...

    async def train(self, lab_id: str, now: datetime, wait: bool) -> dict[str, Any]: ...

    async def sweep(
        self, lab_id: str, equipment_ids: Sequence[str], now: datetime
    ) -> list[Finding]: ...

    async def precursor(
        self, lab_id: str, equipment_id: str, failed_at: datetime
    ) -> dict[str, Any]: ...


class InProcessAnomaly:
    """The default port: every lab's ``LabAnomaly`` in this process, on the runtime's database."""

    def __init__(self, db: Database, params: TrainingParams | None = None) -> None:
        self.db = db
        self.params = params
        self.labs: dict[str, LabAnomaly] = {}
        self._lock = asyncio.Lock()

    async def lab(self, lab_id: str) -> LabAnomaly:
        async with self._lock:
            lab = self.labs.get(lab_id)
            if lab is None:
                lab = LabAnomaly(self.db, lab_id, self.params)
                await lab.load()
                self.labs[lab_id] = lab
            return lab

    async def register(self, lab_id: str, equipment_id: str, metrics: Sequence[str]) -> None:
        (await self.lab(lab_id)).register(equipment_id, metrics)

    async def check(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]], now: float
    ) -> list[Verdict]:
        return (await self.lab(lab_id)).check(readings, now)

    async def observe(self, lab_id: str, readings: Sequence[Mapping[str, Any]]) -> list[Finding]:
        return (await self.lab(lab_id)).observe(readings)

    async def intake(
        self, lab_id: str, readings: Sequence[Mapping[str, Any]], now: datetime
    ) -> tuple[list[Verdict], list[Finding]]:
        return await (await self.lab(lab_id)).intake(readings, now)

    async def movements(
        self, lab_id: str, moves: Sequence[tuple[str, str, str, float]]
    ) -> list[Finding]:
        return await (await self.lab(lab_id)).movements(moves)

    async def risk(
        self, lab_id: str, equipment_id: str, now: datetime
    ) -> tuple[dict[str, Any], Finding | None]:
        return await (await self.lab(lab_id)).risk(equipment_id, now)

    async def train(self, lab_id: str, now: datetime, wait: bool) -> dict[str, Any]:
        lab = await self.lab(lab_id)
        if wait:
            return await lab.train(now)
        lab.schedule_training(now, force=True)
        return lab.status()

    async def precursor(
        self, lab_id: str, equipment_id: str, failed_at: datetime
    ) -> dict[str, Any]:
        return await (await self.lab(lab_id)).precursor(equipment_id, failed_at)

    async def sweep(
        self, lab_id: str, equipment_ids: Sequence[str], now: datetime
    ) -> list[Finding]:
        return await (await self.lab(lab_id)).sweep(equipment_ids, now)

    async def machines(self, lab_id: str) -> dict[str, dict[str, Any]]:
        return (await self.lab(lab_id)).machine_status()

    async def settle(self) -> None:
        """Wait for running trainings (tests, shutdown)."""
        tasks = [lab.training for lab in self.labs.values() if lab.training is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
