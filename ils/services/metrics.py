"""The metrics API: dashboard and series from the rollups; KPIs, cost and revenue from the lab's
own jobs, the cost model and the price lists. Every answer states its period and its basis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ils.analytics import figures, rollup
from ils.analytics.cost import CostBook, cost_summary
from ils.analytics.figures import PeriodSums
from ils.analytics.kpi import Breakage, JobOutcome, Period, ratio, shipped_in
from ils.analytics.order_facts import SEPARATOR
from ils.analytics.reporting import period_of, reporting_days
from ils.db import audit, lab_figures, metrics, rollups
from ils.db.database import Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.errors import Conflict, FieldIssue, NotFound, ValidationFailed
from ils.services.lab_figures import LabFigures
from ils.services.ports import Clock
from ils.services.report_cache import ReportCache

DASHBOARD_METRICS = rollup.METRICS
#: How long a computed report may be served after the lab's data moved on (it says when it was
#: computed): a busy lab appends events every few seconds, and a report reads all its jobs.
REPORT_MAX_AGE_S = 30.0
COST_LINES_MAX = 500


def period_body(first: date, last: date) -> dict[str, Any]:
    period = period_of(first, last)
    return {**period.as_dict(), "from": first, "to": last, "days": (last - first).days + 1}


def product_of(lens_type: str | None, material: str | None) -> str:
    """The product key of the cost model and the price lists: ``<lens type>/<material>``."""
    return f"{lens_type}/{material}"


def _kpi(numerator: Decimal, denominator: Decimal, unit: str, period: Period) -> dict[str, Any]:
    body = ratio(float(numerator), float(denominator), int(denominator), period, unit).as_dict()
    return {**body, "source": "rollups"}


def dashboard_figures(totals: Mapping[str, Decimal], period: Period) -> dict[str, Any]:
    """Counts of the period and the ratios derived from them, each with its basis."""
    zero = Decimal(0)

    def count(name: str) -> dict[str, Any]:
        value = totals.get(name, zero)
        return {"value": float(value), "n": int(value), "unit": "count", "source": "rollups"}

    inspections, failed = totals.get("inspections", zero), totals.get("inspections_failed", zero)
    shipped = totals.get("orders_shipped", zero)
    cycle_n = totals.get("cycle_time_count", zero)
    return {
        "counts": {name: count(name) for name in DASHBOARD_METRICS if "cycle" not in name},
        "inspection_pass_rate": _kpi(inspections - failed, inspections, "ratio", period),
        "breakages_per_shipped_order": _kpi(
            totals.get("breakages", zero), shipped, "breakages_per_job", period
        ),
        "remakes_per_shipped_order": _kpi(totals.get("remakes", zero), shipped, "ratio", period),
        "mean_cycle_time_hours": _kpi(
            totals.get("cycle_time_sum_min", zero) / 60, cycle_n, "hours", period
        ),
    }


def job_outcome(
    row: Mapping[str, Any], labour: Mapping[str, Mapping[str, float]], price: Decimal | None
) -> JobOutcome:
    breakages = tuple(Breakage(s, r, rs) for s, r, rs in row["breakages"] or [])
    return JobOutcome(
        order_id=row["id"],
        lens_type=row["lens_type"] or "unspecified",
        design=row["design"],
        material=row["material"] or "unspecified",
        created_at=row["created_at"],
        due_date=row["due_date"],
        shipped_at=row["shipped_at"],
        first_pass=row["first_pass"],
        breakages=breakages,
        remake_category=row["remake_category"],
        non_adapt=bool(row["non_adapt"]),
        labour_minutes=dict(labour.get(row["lims_job_id"] or "", {})),
        cancelled_at=row["cancelled_at"],
        product=product_of(row["lens_type"], row["material"]),
        price=price,
        remake_of=row["remake_of"],
    )


def price_of(prices: list[dict[str, Any]], practice_id: str, product: str) -> Decimal | None:
    """The practice's own price for the product, else the lab's list price, else None."""
    own = [p for p in prices if p["product"] == product and p["practice_id"] == practice_id]
    listed = [p for p in prices if p["product"] == product and p["practice_id"] is None]
    chosen = own or listed
    return chosen[0]["price"] if chosen else None


def missing_in_book(jobs: list[JobOutcome], book: CostBook) -> dict[str, list[str]]:
    stations = {s for j in jobs for s in j.labour_minutes} | {
        s for j in jobs for b in j.breakages for s in (b.station, b.restart_station or b.station)
    }
    products = {j.product for j in jobs if j.product is not None}
    return {
        "labour_rate_per_hour": sorted(stations - set(book.labour_rate_per_hour)),
        "blank_cost": sorted(products - set(book.blank_cost)),
    }


class Metrics:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.cache = ReportCache(max_age_s=REPORT_MAX_AGE_S)
        self.figures = LabFigures(db, clock)

    def _days(
        self, range_name: str | None, first: date | None, last: date | None
    ) -> tuple[date, date]:
        return reporting_days(range_name, first, last, self.clock())

    async def series(
        self,
        principal: Principal,
        metric: str,
        granularity: str,
        first: date | None,
        last: date | None,
    ) -> dict[str, Any]:
        principal.require(Permission.ANALYTICS_READ)
        first, last = self._days(None, first, last)
        async with self.db.connection() as conn:
            found = await rollups.series(
                conn, principal.tenant_id, metric, granularity, first, last
            )
        tenant = principal.tenant_id
        totals = {(tenant, metric, granularity, b): v for b, v in found.items()}
        points = rollup.series(totals, tenant, metric, granularity, first, last)
        return {
            "metric": metric,
            "granularity": granularity,
            "period": period_body(first, last),
            "basis": {"source": "rollups", "buckets": len(points)},
            "points": [{"bucket_start": b, "value": float(v)} for b, v in points],
        }

    async def dashboard(self, principal: Principal, range_name: str) -> dict[str, Any]:
        principal.require(Permission.ANALYTICS_READ)
        first, last = self._days(range_name, None, None)
        days = (last - first).days + 1
        before = (first - timedelta(days=days), first - timedelta(days=1))
        async with self.db.connection() as conn:
            now = await rollups.day_totals(conn, principal.tenant_id, first, last + timedelta(1))
            then = await rollups.day_totals(conn, principal.tenant_id, before[0], first)
        return {
            "range": range_name,
            "period": period_body(first, last),
            "figures": dashboard_figures(now, period_of(first, last)),
            "previous": {
                "period": period_body(*before),
                "figures": dashboard_figures(then, period_of(*before)),
            },
            "basis": {"source": "rollups", "granularity": "day", "tenant_id": principal.tenant_id},
        }

    async def _jobs(
        self, lab_id: str, first: date, last: date
    ) -> tuple[list[JobOutcome], Period, datetime, dict[str, Any]]:
        period = period_of(first, last)
        as_of = min(self.clock(), period.end)
        async with self.db.connection() as conn:
            rows = await metrics.jobs(
                conn, lab_id, (period.start, period.end), (first, last + timedelta(1)), as_of
            )
            job_ids = [r["lims_job_id"] for r in rows if r["lims_job_id"]]
            labour = await metrics.labour_minutes(conn, lab_id, job_ids)
            prices = await metrics.prices(conn, lab_id)
            model = await metrics.cost_model(conn, lab_id)
        jobs = [
            job_outcome(
                r,
                labour,
                price_of(prices, r["practice_id"], product_of(r["lens_type"], r["material"])),
            )
            for r in rows
        ]
        extra = {"model": model}
        return jobs, period, as_of, extra

    async def _cached(
        self, kind: str, lab_id: str, days: tuple[date, date], compute: Callable[[], Awaitable[Any]]
    ) -> Any:
        """A report of the lab, recomputed when its cost model or the day changed, or when its log
        moved on and the report is older than ``REPORT_MAX_AGE_S``."""
        async with self.db.connection() as conn:
            version = await metrics.data_version(conn, lab_id)
        now = self.clock()

        async def stamped() -> Any:
            body = await compute()
            body["basis"] |= {"computed_at": now, "log_seq": version[0]}
            return body

        # A new cost model or a new day is a new report; new events may wait REPORT_MAX_AGE_S.
        key = (kind, lab_id, *days, version[1], now.date())
        return await self.cache.get(key, (version[0],), stamped)

    async def _period_sums(
        self, lab_id: str, first: date, last: date
    ) -> tuple[PeriodSums, Period, datetime, dict[str, Any]]:
        """The period's daily sums (current with the lab's log), its as-of instant and basis."""
        caught = await self.figures.current(lab_id)
        period = period_of(first, last)
        as_of = min(self.clock(), period.end)
        open_from = as_of.astimezone(UTC).date()
        wip_end = open_from if as_of == _midnight(as_of) else open_from + timedelta(days=1)
        async with self.db.connection() as conn:
            amounts, later = await lab_figures.period_sums(
                conn, lab_id, first, last + timedelta(days=1), open_from
            )
            wip = await lab_figures.wip(conn, lab_id, wip_end)
        sums = PeriodSums(amounts, later)
        basis = {
            "source": "daily sums of the lab's order facts",
            "log_seq": caught.seq,
            "orders_refreshed": caught.orders,
            "as_of": as_of,
            "orders_shipped": int(sums.get("shipped")),
        }
        return sums, period, as_of, {"basis": basis, "wip": wip}

    async def production_kpis(
        self, principal: Principal, range_name: str | None, first: date | None, last: date | None
    ) -> dict[str, Any]:
        principal.require(Permission.ANALYTICS_READ)
        _require_lab(principal)
        first, last = self._days(range_name, first, last)
        sums, period, as_of, extra = await self._period_sums(principal.tenant_id, first, last)
        body = figures.production_kpis(sums, period, as_of, extra["wip"])
        body["period"] = period_body(first, last)
        body["basis"] = extra["basis"] | {
            "jobs_shipped": int(sums.get("shipped")),
            "cohorts": "quality and flow: jobs shipped in the period; on-time: jobs due in it; "
            "throughput: station passes finished in it; WIP: open at as_of",
        }
        return body

    async def _priced_period(
        self, principal: Principal, range_name: str | None, first: date | None, last: date | None
    ) -> tuple[date, date, PeriodSums, dict[str, Any], dict[str, Any] | None, Any]:
        """The lab's period with its daily sums, its cost model (None if unset) and price lists."""
        principal.require(Permission.ANALYTICS_READ)
        _require_lab(principal)
        first, last = self._days(range_name, first, last)
        lab_id = principal.tenant_id
        sums, _, _, extra = await self._period_sums(lab_id, first, last)
        async with self.db.connection() as conn:
            model = await metrics.cost_model(conn, lab_id)
            prices = await metrics.prices(conn, lab_id)
        return first, last, sums, extra, model, prices

    async def cost_analysis(
        self, principal: Principal, range_name: str | None, first: date | None, last: date | None
    ) -> dict[str, Any]:
        first, last, sums, extra, model, prices = await self._priced_period(
            principal, range_name, first, last
        )
        if model is None:
            raise Conflict("the lab has no cost model yet (PUT /api/metrics/cost-model)")
        book = book_of(model, (last - first).days + 1)
        missing = figures.missing_in_book(sums, book)
        if any(missing.values()):
            raise Conflict("the cost model does not price everything", missing=missing)
        body = figures.cost_summary(sums, book, price_table(sums, prices))
        body["period"] = period_body(first, last)
        body["basis"] = extra["basis"] | {
            "overhead_per_day": str(model["overhead_per_day"]),
            "overhead_pool": str(book.overhead_pool),
            "cost_model_at": model["updated_at"],
            "lines": "per-order lines: GET /api/metrics/cost-analysis/orders",
        }
        return body

    async def cost_lines(
        self,
        principal: Principal,
        range_name: str | None,
        first: date | None,
        last: date | None,
        limit: int,
    ) -> dict[str, Any]:
        """Per-order cost lines, costliest first: read from every order of the period (not from
        the daily sums), cached per version of the lab's data."""
        principal.require(Permission.ANALYTICS_READ)
        _require_lab(principal)
        days = self._days(range_name, first, last)
        lab_id = principal.tenant_id
        full = await self._cached("cost", lab_id, days, lambda: self._cost_report(lab_id, *days))
        lines = full["lines"][:limit]
        return {**full, "lines": lines, "basis": {**full["basis"], "lines_shown": len(lines)}}

    async def _cost_report(self, lab_id: str, first: date, last: date) -> dict[str, Any]:
        jobs, period, _, extra = await self._jobs(lab_id, first, last)
        if extra["model"] is None:
            raise Conflict("the lab has no cost model yet (PUT /api/metrics/cost-model)")
        book = book_of(extra["model"], (last - first).days + 1)
        shipped = shipped_in(jobs, period)
        missing = missing_in_book(shipped, book)
        if any(missing.values()):
            raise Conflict("the cost model does not price everything", missing=missing)
        body = cost_summary(shipped, book)
        body["lines"].sort(key=lambda x: Decimal(x["total"]["amount"]), reverse=True)
        body["period"] = period_body(first, last)
        body["basis"] = {
            "orders_shipped": len(shipped),
            "unpriced_orders": sum(1 for j in shipped if j.price is None),
            "overhead_per_day": str(extra["model"]["overhead_per_day"]),
            "overhead_pool": str(book.overhead_pool),
            "lines_order": "costliest first",
        }
        return body

    async def revenue(
        self, principal: Principal, range_name: str | None, first: date | None, last: date | None
    ) -> dict[str, Any]:
        first, last, sums, extra, model, prices = await self._priced_period(
            principal, range_name, first, last
        )
        currency = model["currency"] if model else None
        rows = figures.revenue_rows(sums, price_table(sums, prices))
        total = sum((r["revenue"] for r in rows), Decimal(0))
        return {
            "period": period_body(first, last),
            "currency": currency,
            "total": {"amount": str(total.quantize(Decimal("0.01"))), "currency": currency},
            "by_practice": _group(rows, "practice_id", currency),
            "by_product": _group(rows, "product", currency),
            "basis": extra["basis"]
            | {
                "orders_priced": sum(r["priced"] for r in rows),
                "rule": "each order shipped in the period at its price: the practice's own price "
                "for the product, else the lab's list price; unpriced orders add nothing",
            },
        }

    async def cost_model(self, principal: Principal) -> dict[str, Any]:
        principal.require(Permission.ANALYTICS_READ)
        _require_lab(principal)
        async with self.db.connection() as conn:
            model = await metrics.cost_model(conn, principal.tenant_id)
            prices = await metrics.prices(conn, principal.tenant_id)
        if model is None:
            raise NotFound("the lab has no cost model yet")
        return _model_view(model, prices)

    async def put_cost_model(
        self, principal: Principal, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        principal.require(Permission.LAB_CONFIGURE)
        _require_lab(principal)
        lab_id = principal.tenant_id
        rows = [(p["practice_id"], p["product"], p["price"]) for p in body["prices"]]
        asked = sorted({p for p, _, _ in rows if p is not None})
        seen: set[tuple[str | None, str]] = set()
        duplicates = []
        for i, (practice, product, _) in enumerate(rows):
            if (practice, product) in seen:
                duplicates.append(FieldIssue(f"/prices/{i}", "duplicate-price", "listed twice"))
            seen.add((practice, product))
        if duplicates:
            raise ValidationFailed(duplicates)
        async with self.db.transaction() as conn:
            linked = await metrics.linked_practices(conn, lab_id, asked)
            issues = [
                FieldIssue(f"/prices/{i}/practice_id", "unknown-practice", "not linked to this lab")
                for i, (p, _, _) in enumerate(rows)
                if p is not None and p not in linked
            ]
            if issues:
                raise ValidationFailed(issues)
            await metrics.save_cost_model(conn, lab_id, body, rows, principal.user_id, now)
            await audit.record(conn, lab_id, now, principal.user_id, "metrics.cost_model", lab_id)
            model = await metrics.cost_model(conn, lab_id)
            prices = await metrics.prices(conn, lab_id)
        assert model is not None
        return _model_view(model, prices)


def price_table(
    sums: PeriodSums, prices: list[dict[str, Any]]
) -> dict[tuple[str, str], Decimal | None]:
    """The price of each (practice, product) the period shipped."""
    keys = [k.partition(SEPARATOR) for k in sums.by_key("shipped_by_price")]
    return {(p, product): price_of(prices, p, product) for p, _, product in keys}


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time.min, UTC)


def book_of(model: Mapping[str, Any], days: int) -> CostBook:
    """The cost book of a period: rates and blank costs, overhead per day x days."""
    return CostBook(
        currency=model["currency"],
        blank_cost={k: Decimal(str(v)) for k, v in model["blank_cost"].items()},
        labour_rate_per_hour={k: Decimal(str(v)) for k, v in model["labour_rate_per_hour"].items()},
        overhead_pool=Decimal(model["overhead_per_day"]) * days,
    )


def _group(rows: list[dict[str, Any]], key: str, currency: str | None) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r[key], {key: r[key], "orders": 0, "priced": 0, "amount": Decimal(0)})
        g["orders"] += r["orders"]
        g["priced"] += r["priced"]
        g["amount"] += r["revenue"]
    return [
        {
            **g,
            "amount": {"amount": str(g["amount"].quantize(Decimal("0.01"))), "currency": currency},
        }
        for g in groups.values()
    ]


def _model_view(model: Mapping[str, Any], prices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "currency": model["currency"],
        "labour_rate_per_hour": model["labour_rate_per_hour"],
        "blank_cost": model["blank_cost"],
        "overhead_per_day": str(model["overhead_per_day"]),
        "prices": [{**p, "price": str(p["price"])} for p in prices],
        "updated_at": model["updated_at"],
    }


def _require_lab(principal: Principal) -> None:
    if principal.tenant_kind is not TenantKind.LAB:
        raise NotFound("these metrics belong to labs")
