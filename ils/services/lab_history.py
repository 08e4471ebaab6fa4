"""The manufacturing model of each lab, fitted from its own jobs and cached per lab.

A request never waits for a large fit: a lab whose history is small (at most ``inline_limit``
finished jobs) is fitted on first use; a larger one is fitted in a background task while requests
get no model and say why; a model older than ``ttl`` keeps answering while a background refit
replaces it. Fitting runs in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ils.analytics.dispensing.manufacturing import OUTCOMES, JobOutcome, ManufacturingModel
from ils.db import job_outcomes
from ils.db.database import Database
from ils.services.ports import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabHistory:
    """The model a recommendation uses for one lab (None: no model yet, ``reason`` says why)."""

    model: ManufacturingModel | None
    status: str  # fitted | refreshing | pending | failed
    jobs: int
    fitted_at: datetime | None
    reason: str

    def as_api(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "jobs": self.jobs,
            "fitted_at": self.fitted_at.isoformat() if self.fitted_at else None,
            "outcomes": list(self.model.outcomes) if self.model else [],
            "min_jobs": self.model.min_jobs if self.model else None,
            "reason": self.reason,
        }


def max_power(rx: Mapping[str, Any]) -> float:
    """Largest absolute meridian power over both eyes of a stored Rx."""
    powers = [0.0]
    for side in ("od", "os"):
        eye = rx.get(side) or {}
        sphere, cylinder = float(eye.get("sphere") or 0.0), float(eye.get("cylinder") or 0.0)
        powers += [abs(sphere), abs(sphere + cylinder)]
    return max(powers)


def job_outcome(
    row: Mapping[str, Any], broken: set[str], design_of: Mapping[str, str]
) -> JobOutcome:
    """One finished order as a job outcome; a design code that is a catalog SKU maps to its design
    (orders name a product code, history is grouped by design)."""
    lens = row["lens"]
    code = lens.get("design") or ""
    shipped, created = row["shipped_at"], row["created_at"]
    return JobOutcome(
        lens_type=lens["type"],
        material=lens["material"],
        design=design_of.get(code, code),
        coatings=frozenset(lens.get("coatings") or ()),
        max_power=max_power(row["rx_minus_cyl"]),
        breakage=row["id"] in broken,
        remake=bool(row["remade"] or row["returned"]),
        non_adapt=bool(row["non_adapt"]),
        lead_time_days=(shipped - created).total_seconds() / 86400 if shipped else None,
    )


class LabHistories:
    """Fitted manufacturing models per lab, refreshed in the background."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(minutes=15),
        inline_limit: int = 5_000,
        window: timedelta = timedelta(days=730),
        max_jobs: int = 200_000,
        min_jobs: int = 30,
    ) -> None:
        self.db, self.clock, self.ttl = db, clock, ttl
        self.inline_limit, self.window, self.max_jobs = inline_limit, window, max_jobs
        self.min_jobs = min_jobs
        self._fitted: dict[str, LabHistory] = {}
        self._failed: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def current(self, lab_id: str, design_of: Mapping[str, str]) -> LabHistory:
        """The lab's model for a request now: fitted, the last one while refreshing, or none."""
        now = self.clock()
        fitted = self._fitted.get(lab_id)
        if fitted is not None:
            assert fitted.fitted_at is not None
            if now - fitted.fitted_at < self.ttl:
                return fitted
            self.refresh(lab_id, design_of)
            return replace(fitted, status="refreshing", reason="the last model; a refit is running")
        if lab_id in self._tasks:
            return LabHistory(None, "pending", 0, None, "the lab's history is being fitted")
        async with self.db.connection() as conn:
            jobs = await job_outcomes.count_finished(conn, lab_id, now - self.window)
        if jobs <= self.inline_limit:
            return await self.fit(lab_id, design_of)
        self.refresh(lab_id, design_of)
        reason = self._failed.get(lab_id) or (
            f"{jobs} finished jobs are being fitted in the background: ranked without them"
        )
        return LabHistory(
            None, "failed" if lab_id in self._failed else "pending", jobs, None, reason
        )

    def refresh(self, lab_id: str, design_of: Mapping[str, str]) -> None:
        """Start a background fit of the lab's model unless one is running."""
        if lab_id in self._tasks:
            return
        task = asyncio.create_task(self._background(lab_id, dict(design_of)))
        self._tasks[lab_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(lab_id, None))

    async def _background(self, lab_id: str, design_of: Mapping[str, str]) -> None:
        try:
            await self.fit(lab_id, design_of)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("fitting the manufacturing model of lab %s failed", lab_id, exc_info=True)
            self._failed[lab_id] = "the last fit of the lab's history failed: ranked without it"

    async def fit(self, lab_id: str, design_of: Mapping[str, str]) -> LabHistory:
        """Read the lab's finished jobs, fit its model and cache it."""
        now = self.clock()
        async with self.db.connection() as conn:
            rows = await job_outcomes.finished(conn, lab_id, now - self.window, self.max_jobs)
            recorded = await job_outcomes.records_breakages(conn)
            broken = await job_outcomes.broken(conn, [r["id"] for r in rows]) if recorded else set()
        outcomes = OUTCOMES if recorded else tuple(o for o in OUTCOMES if o != "breakage")
        history = [job_outcome(r, broken, design_of) for r in rows]
        model = await asyncio.to_thread(ManufacturingModel.fit, history, self.min_jobs, outcomes)
        reason = f"fitted on {len(history)} finished jobs of the last {self.window.days} days"
        if not recorded:
            reason += "; the lab records no breakages yet, so there is no breakage rate"
        fitted = LabHistory(model, "fitted", len(history), now, reason)
        self._fitted[lab_id] = fitted
        self._failed.pop(lab_id, None)
        return fitted

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
