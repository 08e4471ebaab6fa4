"""Volume anomalies live: each day's orders against the forecast's 95% interval for that day.

On the first lab activity of a day the lab's served demand forecast for that day is kept (made
from the history before the day: an honest out-of-sample interval); on the first activity of a
later day the kept day's order count (the forecasting history: live orders per UTC day, or the
import when larger) is tested against it (``volume.volume_finding``). A day whose forecast could
not be kept (no demand history yet, a restart in between) is not tested, and says so in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol

from ils.analytics.anomaly.finding import Finding
from ils.analytics.anomaly.volume import volume_finding
from ils.analytics.forecast import ForecastDay, forecast
from ils.services.forecasting import Forecasting, NoDemandHistory

log = logging.getLogger(__name__)


class DemandSource(Protocol):
    """What the volume check needs of forecasting (``ForecastingDemand`` adapts the service)."""

    def today(self) -> date: ...

    async def forecast_of(self, lab_id: str, day: date) -> tuple[ForecastDay, str] | None: ...

    async def orders_on(self, lab_id: str, day: date) -> float | None: ...


@dataclass
class _Kept:
    forecast: ForecastDay
    model: str


class VolumeWatch:
    def __init__(self, demand: DemandSource) -> None:
        self.demand = demand
        self.kept: dict[str, _Kept] = {}
        self.tried: dict[str, date] = {}

    async def findings(self, lab_id: str) -> list[Finding]:
        """At most one test and one forecast lookup per lab and day."""
        today = self.demand.today()
        if self.tried.get(lab_id) == today:
            return []
        self.tried[lab_id] = today
        out: list[Finding] = []
        kept = self.kept.pop(lab_id, None)
        if kept is not None and kept.forecast.date < today:
            out.extend(await self._test(lab_id, kept))
        try:
            found = await self.demand.forecast_of(lab_id, today)
        except Exception:
            log.warning("no demand forecast for lab %s on %s", lab_id, today, exc_info=True)
            found = None
        if found is not None:
            self.kept[lab_id] = _Kept(*found)
        return out

    async def _test(self, lab_id: str, kept: _Kept) -> list[Finding]:
        f = kept.forecast
        orders = await self.demand.orders_on(lab_id, f.date)
        if orders is None:
            return []
        start = datetime.combine(f.date, time(), tzinfo=UTC).timestamp()
        finding = volume_finding(start, orders, f.orders, f.lower_95, f.upper_95)
        if finding is None:
            return []
        evidence = {**finding.evidence, "day": f.date.isoformat(), "model": kept.model}
        return [
            Finding(
                finding.kind,
                finding.subject,
                finding.severity,
                finding.detected_at,
                finding.rule,
                finding.score,
                evidence,
            )
        ]


def forecast_for(fit_first_day: date, day: date, horizon: int) -> int | None:
    """The index of ``day`` in a forecast starting at ``fit_first_day`` (None: outside it)."""
    k = (day - fit_first_day).days
    return k if 0 <= k < horizon else None


class ForecastingDemand:
    """``DemandSource`` over the forecasting service (the lab's served model and its history)."""

    def __init__(self, forecasting: Forecasting) -> None:
        self.forecasting = forecasting

    def today(self) -> date:
        return self.forecasting.today()

    async def forecast_of(self, lab_id: str, day: date) -> tuple[ForecastDay, str] | None:
        try:
            # the served model, as GET /api/ai/demand-forecast answers from it (never waits a fit)
            served = await self.forecasting.served_model(lab_id)
        except NoDemandHistory:
            return None
        fit = served.fitted.fit
        k = forecast_for(fit.first_day, day, fit.horizon_max)
        if k is None:
            return None
        return forecast(fit, k + 1)[k], fit.model

    async def orders_on(self, lab_id: str, day: date) -> float | None:
        history = await self.forecasting.history(lab_id)
        return next((float(n) for d, n in history.rows if d == day), None)
