"""Demand forecasting use-cases: the lab's history, its settings, and the fitted model.

History = the days the lab imported (``PUT /api/ai/demand-history``) + its live orders counted per
UTC day from the orders table. Live days run from the lab's first order to yesterday (a day with
no order counts 0); today is incomplete and never used. When a day has both an imported and a
live count the larger is used: each source can only miss orders (an import from the previous
system misses what came through ILS on the switch-over days, ILS misses what came in elsewhere),
so the larger undercounts least and never counts an order twice.

The fitted model is asked for through the ``Forecaster`` port (a Ray actor per lab, or this
process): a request never waits for a fit (see ``forecast_model``).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import holidays

from ils.analytics.forecast import ForecastDay, ModelMetrics, backtest_metrics, forecast
from ils.db import audit, tenants
from ils.db import forecast as store
from ils.db.database import Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.errors import Conflict, FieldIssue, Forbidden, ValidationFailed
from ils.services.forecast_model import FitRequest, Forecaster, ServedModel, quick_fit
from ils.services.ports import Clock

DEFAULT_COUNTRY = "US"
COMBINATION_RULE = "imported days + live orders per UTC day; a day with both uses the larger count"


class NoDemandHistory(Conflict):
    code = "no-demand-history"
    title = "The lab has no demand history yet"


@dataclass(frozen=True)
class LabHistory:
    rows: tuple[tuple[date, float], ...]
    country: str
    imported_at: datetime | None
    imported_days: int
    live_days: int
    both_days: int

    def view(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "imported_days": self.imported_days,
            "live_days": self.live_days,
            "days_with_both": self.both_days,
            "combination_rule": COMBINATION_RULE,
        }


def require_lab(principal: Principal, permission: Permission) -> None:
    principal.require(permission)
    if principal.tenant_kind is not TenantKind.LAB:
        raise Forbidden("demand forecasting is for labs")


def supported_country(country: str, pointer: str = "/country") -> str:
    code = country.upper()
    if code not in holidays.list_supported_countries():
        raise ValidationFailed(
            [FieldIssue(pointer, "country-unsupported", f"no holiday calendar for {country!r}")]
        )
    return code


def combine(
    imported: list[tuple[date, int]], live: list[tuple[date, int]], today: date
) -> tuple[list[tuple[date, float]], int, int]:
    """The lab's daily history, the number of live days and of days with both counts."""
    by_day: dict[date, float] = {d: float(n) for d, n in imported if d < today}
    live_by_day = dict(live)
    live_days = 0
    both = 0
    if live_by_day:
        day = min(live_by_day)
        while day < today:
            count = float(live_by_day.get(day, 0))
            both += day in by_day
            by_day[day] = max(by_day.get(day, 0.0), count)
            live_days += 1
            day += timedelta(days=1)
    return sorted(by_day.items()), live_days, both


def fingerprint(country: str, rows: list[tuple[date, float]]) -> str:
    digest = hashlib.sha256(country.encode())
    for day, orders in rows:
        digest.update(f"{day.isoformat()}={orders:g};".encode())
    return digest.hexdigest()[:32]


def import_issues(days: list[tuple[date, int]], today: date) -> list[FieldIssue]:
    """Refusals of an import: a date given twice (which count is right?) or not yet complete."""
    issues: list[FieldIssue] = []
    first_seen: dict[date, int] = {}
    for i, (day, _) in enumerate(days):
        if day in first_seen:
            detail = f"{day.isoformat()} is also at /days/{first_seen[day]}"
            issues.append(FieldIssue(f"/days/{i}/date", "duplicate-date", detail))
        first_seen.setdefault(day, i)
        if day >= today:
            detail = f"{day.isoformat()} is not a complete day yet (today is {today.isoformat()})"
            issues.append(FieldIssue(f"/days/{i}/date", "date-not-complete", detail))
    return issues


def import_notes(days: list[tuple[date, int]]) -> list[str]:
    ordered = sorted(d for d, _ in days)
    notes = []
    if [d for d, _ in days] != ordered:
        notes.append("the days were not in date order: stored sorted")
    missing = (ordered[-1] - ordered[0]).days + 1 - len(ordered)
    if missing:
        notes.append(
            f"{missing} day(s) between {ordered[0]} and {ordered[-1]} are missing: a fit fills "
            "them from the same weekday of neighbouring weeks"
        )
    if not any(n for _, n in days):
        notes.append("every imported day is zero: the forecast will be zero until orders arrive")
    return notes


class Forecasting:
    def __init__(self, db: Database, forecaster: Forecaster, clock: Clock) -> None:
        self.db = db
        self.forecaster = forecaster
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    async def import_history(
        self, principal: Principal, days: list[tuple[date, int]], country: str | None
    ) -> dict[str, Any]:
        """Replace the lab's imported history (and optionally its country); nothing on refusal."""
        require_lab(principal, Permission.FORECAST_MANAGE)
        code = supported_country(country) if country is not None else None
        issues = import_issues(days, self.today())
        if issues:
            raise ValidationFailed(issues)
        ordered = sorted(days)
        now = self.clock()
        lab_id = principal.tenant_id
        async with self.db.transaction() as conn:
            await tenants.lock_heads(conn, [lab_id])
            await store.replace_imported(conn, lab_id, ordered, now)
            if code is not None:
                await store.merge_settings(conn, lab_id, {"country": code})
            details = {"days": len(ordered), "first": ordered[0][0], "last": ordered[-1][0]}
            await audit.record(
                conn, lab_id, now, principal.user_id, "forecast.history_imported", None, details
            )
        served = await self.model(principal)  # starts the model selection on the new history
        return {
            "stored_days": len(ordered),
            "first": ordered[0][0],
            "last": ordered[-1][0],
            "notes": import_notes(days),
            "model": model_view(served),
        }

    async def settings(self, principal: Principal) -> dict[str, Any]:
        require_lab(principal, Permission.ANALYTICS_READ)
        async with self.db.connection() as conn:
            found = await store.tenant_settings(conn, principal.tenant_id)
        return settings_view(found[1] if found else {})

    async def update_settings(
        self, principal: Principal, changes: dict[str, Any]
    ) -> dict[str, Any]:
        require_lab(principal, Permission.FORECAST_MANAGE)
        if "country" in changes:
            changes["country"] = supported_country(changes["country"])
        now = self.clock()
        async with self.db.transaction() as conn:
            await tenants.lock_heads(conn, [principal.tenant_id])
            stored = await store.merge_settings(conn, principal.tenant_id, changes)
            await audit.record(
                conn, principal.tenant_id, now, principal.user_id, "forecast.settings_changed",
                None, {"keys": sorted(changes)},
            )  # fmt: skip
        return settings_view(stored)

    async def history(self, lab_id: str) -> LabHistory:
        today = self.today()
        midnight = datetime.combine(today, time(), tzinfo=UTC)
        async with self.db.connection() as conn:
            found = await store.tenant_settings(conn, lab_id)
            imported = await store.imported(conn, lab_id)
            live = await store.live_counts(conn, lab_id, midnight)
        country = str((found[1] if found else {}).get("country") or DEFAULT_COUNTRY)
        rows, live_days, both = combine(imported.days, live, today)
        return LabHistory(
            tuple(rows), country, imported.imported_at, len(imported.days), live_days, both
        )

    async def model(self, principal: Principal, *, reselect: bool = False) -> ServedModel:
        """The lab's model to answer from (cached, shifted, or provisional; never waits a fit)."""
        served, _, _ = await self._served(principal.tenant_id, reselect)
        return served

    async def served_model(self, lab_id: str) -> ServedModel:
        """The lab's served model, for other services (raises NoDemandHistory); never waits."""
        served, _, _ = await self._served(lab_id, reselect=False)
        return served

    async def _served(
        self, lab_id: str, reselect: bool
    ) -> tuple[ServedModel, LabHistory, FitRequest]:
        history = await self.history(lab_id)
        if not history.rows:
            raise NoDemandHistory(
                "import daily history with PUT /api/ai/demand-history, or wait for the first "
                "complete day of live orders"
            )
        stamp = history.imported_at.isoformat() if history.imported_at else "live"
        request = FitRequest(
            lab_id=lab_id,
            rows=history.rows,
            country=history.country,
            today=self.today(),
            basis=f"{history.country}|{stamp}",
            fingerprint=fingerprint(history.country, list(history.rows)),
            now=self.clock(),
            reselect=reselect,
        )
        return await self.forecaster.serve(request), history, request

    async def forecast_days(
        self, principal: Principal, days: int
    ) -> tuple[ServedModel, LabHistory, list[ForecastDay]]:
        """The next ``days`` days after the last complete day of history, with intervals."""
        require_lab(principal, Permission.ANALYTICS_READ)
        served, history, request = await self._served(principal.tenant_id, reselect=False)
        if served.lag_days + days > served.fitted.fit.horizon_max:
            detail = "the cached fit is too old for this horizon: seasonal naive served"
            served = ServedModel(await asyncio.to_thread(quick_fit, request), "provisional", detail)
        lag = served.lag_days
        return served, history, forecast(served.fitted.fit, lag + days)[lag:]

    async def patterns(self, principal: Principal) -> dict[str, Any]:
        """Weekday and yearly profiles and holiday effects, each with a 95% interval."""
        require_lab(principal, Permission.ANALYTICS_READ)
        served, history, _ = await self._served(principal.tenant_id, reselect=False)
        found = served.fitted.patterns
        body: dict[str, Any] = {
            "model": model_view(served),
            "generated_at": self.clock(),
            "history": history.view(),
        }
        if found is None:
            body.update(status="pending", weekday=[], yearly=[], holidays=[])
            body["notes"] = ["the patterns are estimated with the model selection now running"]
            return body
        body.update(
            status="estimated",
            method="log-linear OLS (trend, weekday, month, holidays), HAC standard errors",
            weekday=[asdict(e) for e in found.weekday],
            yearly=[asdict(e) for e in found.yearly],
            holidays=[asdict(e) for e in found.holidays],
            notes=list(found.notes),
        )
        return body

    async def metrics(self, principal: Principal) -> dict[str, Any]:
        """The rolling-origin backtest of the served model and of the baselines, by horizon."""
        require_lab(principal, Permission.ANALYTICS_READ)
        served, history, _ = await self._served(principal.tenant_id, reselect=False)
        fit = served.fitted.fit
        models = backtest_metrics(fit)
        return {
            "model": model_view(served),
            "generated_at": self.clock(),
            "history": history.view(),
            "origins": len(fit.backtest.origins) if fit.backtest else 0,
            "horizon_max": fit.horizon_max,
            "models": [metrics_view(m) for m in models],
            "candidates": [asdict(c) for c in fit.scores],
            "comparison": comparison(models),
            "notes": list(fit.notes) or ([] if models else ["no backtest was possible"]),
        }


def model_view(served: ServedModel) -> dict[str, Any]:
    fitted = served.fitted
    fit = fitted.fit
    return {
        "name": fit.model,
        "members": list(fit.members),
        "status": served.status,
        "detail": served.detail,
        "fitted_at": fitted.fitted_at,
        "selected_at": fitted.selected_at,
        "fit_seconds": round(fitted.fit_seconds, 3),
        "history_start": fit.history.start,
        "history_end": fit.history.end,
        "history_days": len(fit.history),
        "imputed_days": int(fit.history.imputed.sum()),
        "notes": list(fit.notes),
    }


def settings_view(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "country": settings.get("country") or DEFAULT_COUNTRY,
        "station_labour_minutes": settings.get("station_labour_minutes") or {},
    }


def metrics_view(metrics: ModelMetrics) -> dict[str, Any]:
    return {
        "model": metrics.model,
        "origins": metrics.origins,
        "overall": metrics.overall.as_dict(),
        "by_horizon": [m.as_dict() for m in metrics.by_horizon],
    }


def comparison(models: tuple[ModelMetrics, ...]) -> list[dict[str, Any]]:
    """MASE of the served model against each baseline: the percentage it is lower by."""
    if not models:
        return []
    served = models[0]
    rows = []
    for other in models[1:]:
        mine, theirs = served.overall.mase, other.overall.mase
        better = None
        if mine is not None and theirs is not None and theirs > 0:
            better = 100.0 * (1.0 - mine / theirs)
        rows.append(
            {
                "baseline": other.model,
                "mase": theirs,
                "served_mase": mine,
                "mase_lower_by_pct": better,
                "beats_baseline": None if better is None else better > 0,
            }
        )
    return rows
