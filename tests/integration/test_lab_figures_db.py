"""Property: the order facts and daily sums kept from the committed log equal a recomputation from
the lab's raw records, whenever the catch-ups happen.

Random streams (fixed seeds) of what the write paths do, each in its own transaction with its
events appended through ``events.append``: orders created, shipped, cancelled, breakages, LIMS
inspections, station visits, remakes with their issue, non-adapts; catch-ups at random points.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from ils.analytics.order_facts import SEPARATOR, recompute
from ils.db import events, lab_figures, metrics, tenants
from ils.db.database import Conn
from ils.domain.event import NewEvent, Topic
from ils.runtime import Runtime
from ils.services.lab_figures import LabFigures

START = datetime(2026, 12, 27, tzinfo=UTC)  # crosses a month and a year
INSERT_ORDER = """
INSERT INTO orders (id, order_number, practice_id, lab_id, status, patient_ref, due_date,
    priority, rx, rx_minus_cyl, lens, remake_of, lims_job_id, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'in_production', 'P', $5, 'standard', '{}', '{}', $6, $7, $2, $8, $8)
"""
INSERT_BREAKAGE = """
INSERT INTO breakages (id, lab_id, order_id, job_id, event_id, station, reason_code,
    restart_station, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
INSERT_INSPECTION = """
INSERT INTO lims_inspections (id, lab_id, order_id, job_id, event_id, measured, lims_pass,
    ils_pass, occurred_at) VALUES ($1, $2, $3, $4, $5, '{}', $6, $7, $8)
"""
INSERT_MOVE = """
INSERT INTO station_movements (lab_id, station, job_id, status, sequence, occurred_at)
VALUES ($1, $2, $3, $4, 1, $5)
"""
INSERT_ISSUE = """
INSERT INTO order_issues (id, order_id, practice_id, lab_id, kind, category, reason,
    within_warranty, remake_order_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'r', true, $7, $8)
"""
STATIONS = ("surfacing", "edging", "mounting")


class Stream:
    def __init__(self, runtime: Runtime, lab: str, practice: str, rng: np.random.Generator):
        self.runtime, self.lab, self.practice, self.rng = runtime, lab, practice, rng
        self.orders: list[str] = []
        self.open: list[str] = []  # neither shipped nor cancelled: what the LIMS may still move
        self.clock = START

    def pick(self) -> str:
        return self.orders[int(self.rng.integers(0, len(self.orders)))]

    async def step(self) -> None:
        self.clock += timedelta(minutes=int(self.rng.integers(1, 600)))
        kinds = ["create", "ship", "cancel", "break", "inspect", "visit", "remake", "non_adapt"]
        weights = np.array([3, 3, 1, 1, 2, 2, 1, 1]) / 14
        kind = "create" if not self.orders else str(self.rng.choice(kinds, p=weights))
        if kind in ("ship", "cancel") and not self.open:
            kind = "create"
        async with self.runtime.db.transaction() as conn:
            new = await getattr(self, kind)(conn)
            await tenants.lock_heads(conn, [self.lab])
            await events.append(conn, self.lab, new)

    async def create(self, conn: Conn, remake_of: str | None = None) -> list[NewEvent]:
        order_id = str(uuid.uuid4())
        lens = {"type": str(self.rng.choice(("progressive", "single_vision"))), "material": "1.60"}
        due = (self.clock + timedelta(days=int(self.rng.integers(0, 4)))).date()
        await conn.execute(
            INSERT_ORDER, order_id, f"J-{order_id[:8]}", self.practice, self.lab, due,
            lens, remake_of, self.clock,
        )  # fmt: skip
        self.orders.append(order_id)
        self.open.append(order_id)
        data = {"order": {"created_at": self.clock.isoformat(), "remake_of": remake_of}}
        return [NewEvent("order.created", Topic.ORDERS, self.clock, data, order_id)]

    async def _status(self, to: str) -> list[NewEvent]:
        order_id = self.open.pop(int(self.rng.integers(0, len(self.open))))
        data = {"to": to, "order": {"created_at": START.isoformat()}}
        return [NewEvent("order.status_changed", Topic.ORDERS, self.clock, data, order_id)]

    async def ship(self, conn: Conn) -> list[NewEvent]:
        return await self._status("shipped")

    async def cancel(self, conn: Conn) -> list[NewEvent]:
        return await self._status("cancelled")

    async def _job(self, conn: Conn) -> tuple[str, str]:
        order_id = self.pick()
        return order_id, str(
            await conn.fetchval("SELECT lims_job_id FROM orders WHERE id = $1", order_id)
        )

    async def break_(self, conn: Conn) -> list[NewEvent]:
        order_id, job = await self._job(conn)
        s, r = str(self.rng.choice(STATIONS)), str(self.rng.choice(STATIONS))
        await conn.execute(
            INSERT_BREAKAGE, uuid.uuid4(), self.lab, order_id, job, str(uuid.uuid4()), s, "chip",
            r, self.clock,
        )  # fmt: skip
        return [NewEvent("breakage.recorded", Topic.ORDERS, self.clock, {}, order_id)]

    async def inspect(self, conn: Conn) -> list[NewEvent]:
        order_id, job = await self._job(conn)
        ils_pass = None if self.rng.random() < 0.3 else bool(self.rng.random() < 0.7)
        await conn.execute(
            INSERT_INSPECTION, uuid.uuid4(), self.lab, order_id, job, str(uuid.uuid4()),
            bool(self.rng.random() < 0.8), ils_pass, self.clock,
        )  # fmt: skip
        return [NewEvent("inspection.recorded", Topic.ORDERS, self.clock, {}, order_id)]

    async def visit(self, conn: Conn) -> list[NewEvent]:
        order_id, job = await self._job(conn)
        station = str(self.rng.choice(STATIONS))
        began = self.clock - timedelta(minutes=int(self.rng.integers(1, 90)))
        await conn.execute(INSERT_MOVE, self.lab, station, job, "in_process", began)
        if self.rng.random() < 0.8:
            await conn.execute(INSERT_MOVE, self.lab, station, job, "done", self.clock)
        return [NewEvent("order.station_changed", Topic.ORDERS, self.clock, {}, order_id)]

    async def remake(self, conn: Conn) -> list[NewEvent]:
        original = self.pick()
        new = await self.create(conn, remake_of=original)
        remake_id = self.orders[-1]
        if self.rng.random() < 0.8:
            category = str(self.rng.choice(("lab_error", "warranty")))
            await conn.execute(
                INSERT_ISSUE, uuid.uuid4(), original, self.practice, self.lab, "return",
                category, remake_id, self.clock,
            )  # fmt: skip
        return new

    async def non_adapt(self, conn: Conn) -> list[NewEvent]:
        order_id = self.pick()
        await conn.execute(
            INSERT_ISSUE, uuid.uuid4(), order_id, self.practice, self.lab, "non_adapt",
            "non_adapt", None, self.clock,
        )  # fmt: skip
        return [NewEvent("order.non_adapt_filed", Topic.ORDERS, self.clock, {}, order_id)]


setattr(Stream, "break", Stream.break_)


async def _tenants(runtime: Runtime, seed: int) -> tuple[str, str]:
    lab, practice = str(uuid.uuid4()), str(uuid.uuid4())
    async with runtime.db.transaction() as conn:
        await tenants.insert(conn, lab, "lab", f"Lab {seed}", {}, None, START)
        await tenants.insert(conn, practice, "practice", f"Practice {seed}", {}, None, START)
    return lab, practice


@pytest.mark.parametrize("seed", range(5))
async def test_figures_kept_from_the_log_equal_a_recomputation(runtime: Runtime, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lab, practice = await _tenants(runtime, seed)
    stream = Stream(runtime, lab, practice, rng)
    figures = LabFigures(runtime.db, lambda: START)
    for _ in range(int(rng.integers(40, 90))):
        await stream.step()
        if rng.random() < 0.25:
            await figures.current(lab)
    caught = await figures.current(lab)
    async with runtime.db.connection() as conn:
        assert caught.seq == await lab_figures.log_head(conn, lab)
        raw = await lab_figures.raw_facts(conn, lab, stream.orders)
        kept = await lab_figures.all_facts(conn, lab)
        sums = await lab_figures.all_sums(conn, lab)
        end = stream.clock + timedelta(days=1)
        revenue = await metrics.revenue(conn, lab, START, end)  # the raw SQL of before
        passes = await metrics.station_passes(conn, lab, START, end)
    assert {f.order_id: f for f in kept} == raw
    assert sums == recompute(raw.values())
    assert any(m == "shipped" for _, m, _ in sums) == any(f.shipped for f in raw.values())
    shipped = {k: int(v) for (_, _, k), v in _by_metric(sums, "shipped_by_price").items()}
    expected = {f"{r['practice_id']}{SEPARATOR}{r['product']}": r["orders"] for r in revenue}
    assert shipped == expected
    assert {k: int(v) for (_, _, k), v in _by_metric(sums, "passes").items()} == passes


def _by_metric(sums: dict[Any, Decimal], metric: str) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = {}
    for (_, m, k), v in sums.items():
        if m == metric:
            out[(None, m, k)] = out.get((None, m, k), Decimal(0)) + v
    return out


async def test_a_lab_never_built_is_built_from_its_records(runtime: Runtime) -> None:
    rng = np.random.default_rng(99)
    lab, practice = await _tenants(runtime, 99)
    stream = Stream(runtime, lab, practice, rng)
    for _ in range(25):
        await stream.step()
    caught = await LabFigures(runtime.db, lambda: START).current(lab)
    assert caught.rebuilt and caught.orders == len(stream.orders)
    again = await LabFigures(runtime.db, lambda: START).current(lab)
    assert not again.rebuilt and again.orders == 0 and again.seq == caught.seq
