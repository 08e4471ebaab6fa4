"""Live process and quality signals of a lab: station movements folded into periods, then tested.

``LineWatch`` is fed committed station movements (``(station, job, status, at)``, LIMS time in
epoch seconds) and closes a period of ``period_s`` (an hour by default) when the first movement of
a later period arrives. A closed period gives, per station: the mean cycle time of the jobs
finished there (``in_process`` -> ``done``, minutes), the queue at the period's end and the
breakage rate (breakages at the station over jobs finished there). ``process_findings`` tests
each against the station's previous periods with SPC (``process.spc_findings``: I-MR limits,
Nelson rules); ``quality_findings`` tests the period's breakages by (station, reason) against the
baseline rates (``quality.spike_findings``, binomial) and, per inspected field, the period's mean
signed error (measured - ordered) against the field's earlier periods (the same SPC: a drifting
generator shows as a shifted mean long before lenses fail the tolerance; charting period means,
not single lenses, keeps chance alarms of a busy lab to the chart's nominal rate per hour).

Decisions:

- Rules: 1 (beyond 3 sigma) and 2 (nine on one side) for every series, 3 (six rising) for queue
  length only (queue growth). More rules on many hourly series would raise alerts by chance every
  day; de-duplication folds repeats of one subject into its live alert anyway.
- Nothing is tested before ``min_baseline`` periods of history; the baseline is the last
  ``keep`` periods before the points under test (the latest ``RUN - 1`` are tested with it).
- A cycle time or breakage rate is only charted when its baseline varies (all-zero breakage
  baselines have no sigma: rare events are the binomial test's business); a queue's sigma is at
  least one job, so a queue that was always empty at the hour can still be seen to grow. A
  (station, reason) rate is (k + 1) / (n + 2) over the baseline (Laplace's rule), so the first
  breakage of a new reason among many jobs is not an alarm by itself.
- A movement older than the open period is counted in the open period (a late webhook); the
  detectors see every movement once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.process import spc_findings
from ils.analytics.anomaly.quality import spike_findings
from ils.analytics.spc import imr_limits

RUN = 9  # points of a same-side run (Nelson rule 2): the window tested with each new point
RULES = frozenset({1, 2})
QUEUE_RULES = frozenset({1, 2, 3})
#: A queue's resolution is one job: its sigma is at least that, even over an always-empty baseline.
SIGMA_FLOOR = {"queue_length": 1.0}


@dataclass(frozen=True)
class LineParams:
    period_s: float = 3600.0
    keep: int = 48
    min_baseline: int = 12
    min_inspections: int = 5  # judged inspections of a field for its period mean to be charted


@dataclass(frozen=True)
class StationPeriod:
    cycle_time_min: float | None
    queue_length: int
    done: int


@dataclass(frozen=True)
class Period:
    start: float
    end: float
    stations: dict[str, StationPeriod]
    jobs: int  # distinct jobs that moved in the period


@dataclass
class _Open:
    services: dict[str, list[float]] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    jobs: set[str] = field(default_factory=set)


@dataclass
class LineWatch:
    """One lab's line: the open period, queues and job starts, and each series' history."""

    params: LineParams = field(default_factory=LineParams)
    period: int | None = None
    open: _Open = field(default_factory=_Open)
    started: dict[tuple[str, str], float] = field(default_factory=dict)
    queued: dict[str, set[str]] = field(default_factory=dict)
    series: dict[tuple[str, str], deque[tuple[float, bool]]] = field(default_factory=dict)
    #: Each series' last point against its limits (None: not tested): the continuous score.
    last_z: dict[tuple[str, str], float | None] = field(default_factory=dict)
    breakages: deque[tuple[dict[tuple[str, str], int], int]] = field(default_factory=deque)

    def feed(self, moves: Iterable[tuple[str, str, str, float]]) -> list[Period]:
        """Fold movements in; the periods they closed (oldest first)."""
        closed: list[Period] = []
        for station, job, status, at in sorted(moves, key=lambda m: m[3]):
            index = math.floor(at / self.params.period_s)
            if self.period is None:
                self.period = index
            if index > self.period:
                closed.append(self._close())
                self.period = index  # empty periods in between are skipped, not zeros
            self._apply(station, job, status, at)
        return closed

    def _apply(self, station: str, job: str, status: str, at: float) -> None:
        self.open.jobs.add(job)
        queue = self.queued.setdefault(station, set())
        if status == "queued":
            queue.add(job)
            return
        queue.discard(job)
        key = (station, job)
        if status == "in_process":
            self.started[key] = at
        elif status == "done":
            self.open.done[station] = self.open.done.get(station, 0) + 1
            began = self.started.pop(key, None)
            if began is not None and at >= began:
                self.open.services.setdefault(station, []).append((at - began) / 60.0)
        else:  # left
            self.started.pop(key, None)

    def _close(self) -> Period:
        assert self.period is not None
        start = self.period * self.params.period_s
        names = set(self.open.done) | set(self.open.services) | set(self.queued)
        stations = {}
        for s in sorted(names):
            services = self.open.services.get(s, [])
            mean = sum(services) / len(services) if services else None
            stations[s] = StationPeriod(mean, len(self.queued.get(s, ())), self.open.done.get(s, 0))
        period = Period(start, start + self.params.period_s, stations, len(self.open.jobs))
        self.open = _Open()
        return period

    # --- process ------------------------------------------------------------------------------
    def process_findings(
        self, period: Period, breakages_by_station: Mapping[str, int]
    ) -> list[Finding]:
        """SPC on each station's cycle time, queue and breakage rate; the period joins history."""
        out: list[Finding] = []
        for station, sp in period.stations.items():
            values: dict[str, float | None] = {
                "cycle_time_min": sp.cycle_time_min,
                "queue_length": float(sp.queue_length),
                "breakage_rate": (
                    breakages_by_station.get(station, 0) / sp.done if sp.done else None
                ),
            }
            for metric, value in values.items():
                if value is not None:
                    out.extend(self._chart(station, metric, value, period))
        return out

    def _chart(self, station: str, metric: str, value: float, period: Period) -> list[Finding]:
        rules = QUEUE_RULES if metric == "queue_length" else RULES
        subject = f"station:{station}:{metric}"
        found = self._point("process", subject, value, period, rules, SIGMA_FLOOR.get(metric, 0.0))
        return [_with_period(f, period, {"metric": metric}) for f in found]

    def _point(
        self,
        kind: str,
        subject: str,
        value: float,
        period: Period,
        rules: frozenset[int],
        floor: float = 0.0,
    ) -> list[Finding]:
        p = self.params
        history = self.series.setdefault((kind, subject), deque(maxlen=p.keep + RUN))
        found, z = chart(history, kind, subject, value, period.end, rules, floor, p.min_baseline)
        self.last_z[(kind, subject)] = z
        return found

    # --- quality ------------------------------------------------------------------------------
    def quality_findings(
        self,
        period: Period,
        breakages: Mapping[tuple[str, str], int],
        inspection_errors: Sequence[tuple[float, str, float]],
    ) -> list[Finding]:
        """Breakage spikes by (station, reason) and inspection drifts; both join the history."""
        p = self.params
        out: list[Finding] = []
        if len(self.breakages) >= p.min_baseline and period.jobs > 0 and breakages:
            rates = breakage_rates(self.breakages, breakages)
            out.extend(spike_findings("breakage", breakages, period.jobs, rates, period.end))
        self.breakages.append((dict(breakages), period.jobs))
        while len(self.breakages) > p.keep:
            self.breakages.popleft()
        out.extend(self._inspections(period, inspection_errors))
        return out

    def _inspections(
        self, period: Period, errors: Sequence[tuple[float, str, float]]
    ) -> list[Finding]:
        """Each inspected field's mean error over the period, charted against earlier periods."""
        by_field: dict[str, list[float]] = {}
        for _, pointer, error in errors:
            by_field.setdefault(pointer, []).append(error)
        out: list[Finding] = []
        for pointer, values in sorted(by_field.items()):
            if len(values) < self.params.min_inspections:
                continue  # too few to stand for the period (and the chart assumes steady sizes)
            mean = sum(values) / len(values)
            for f in self._point("quality", f"inspection:{pointer}", mean, period, RULES):
                extra = {"field": pointer, "inspections": len(values), "mean_error": mean}
                out.append(_with_period(f, period, extra))
        return out


def breakage_rates(
    history: Iterable[tuple[Mapping[tuple[str, str], int], int]], keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], float]:
    """Each key's rate over the baseline periods ``(counts, jobs)``: (k + 1) / (n + 2)."""
    jobs, seen = 0, dict.fromkeys(keys, 0)
    for counts, n in history:
        jobs += n
        for key in seen:
            seen[key] += counts.get(key, 0)
    return {key: (k + 1) / (jobs + 2) for key, k in seen.items()}


def chart(
    history: deque[tuple[float, bool]],
    kind: str,
    subject: str,
    value: float,
    at: float,
    rules: frozenset[int],
    floor: float = 0.0,
    min_baseline: int = 12,
) -> tuple[list[Finding], float | None]:
    """Test a series' new point against its history (I-MR limits, Nelson ``rules``), then append
    it to ``history`` (a bounded deque of (value, flagged): the rolling baseline, where flagged
    points do not count, so an anomaly does not become the norm it is judged by). Returns the
    findings of the new point and its z against the limits (None while the baseline is too short
    or flat)."""
    points = list(history)
    recent = [*(v for v, _ in points[-(RUN - 1) :]), value]
    baseline = [v for v, flagged in points[: -(RUN - 1)] if not flagged]
    if len(baseline) < min_baseline or (len(set(baseline)) < 2 and floor <= 0):
        history.append((value, False))
        return [], None
    times = [-math.inf] * (len(recent) - 1) + [at]  # the earlier points were tested before
    hits = spc_findings(kind, subject, baseline, recent, times, rules, max(floor, 1e-12))
    found = [f for f in hits if math.isfinite(f.detected_at)]
    history.append((value, bool(found)))
    limits = imr_limits(baseline).individuals
    return found, (value - limits.centre) / max(limits.sigma, floor, 1e-12)


def _with_period(f: Finding, period: Period, extra: Mapping[str, object]) -> Finding:
    evidence = {**f.evidence, **extra, "period_start": period.start, "period_end": period.end}
    return Finding(f.kind, f.subject, f.severity, f.detected_at, f.rule, f.score, evidence)


def inspection_errors(verdict: Mapping[str, object] | None) -> list[tuple[str, float]]:
    """(field pointer, measured - ordered) of every judged field of an ILS inspection verdict."""
    out: list[tuple[str, float]] = []
    fields = verdict.get("fields") if verdict else None
    if not isinstance(fields, list):
        return out
    for f in fields:
        if not isinstance(f, dict):
            continue
        ordered, measured = f.get("ordered"), f.get("measured")
        if isinstance(ordered, int | float) and isinstance(measured, int | float):
            out.append((str(f.get("pointer")), float(measured) - float(ordered)))
    return out
