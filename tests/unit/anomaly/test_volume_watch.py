"""The live volume check: a day's orders against the forecast kept for that day, once a day."""

from __future__ import annotations

from datetime import date, timedelta

from ils.analytics.forecast import ForecastDay
from ils.services.anomaly_volume import VolumeWatch, forecast_for

DAY = date(2026, 3, 4)


class Demand:
    """A fake forecasting: a fixed forecast per day and the orders counted so far."""

    def __init__(self) -> None:
        self.day = DAY
        self.orders: dict[date, float] = {}
        self.asked: list[date] = []

    def today(self) -> date:
        return self.day

    async def forecast_of(self, lab_id: str, day: date) -> tuple[ForecastDay, str] | None:
        self.asked.append(day)
        return ForecastDay(day, 200.0, 170.0, 230.0, 150.0, 250.0), "ets"

    async def orders_on(self, lab_id: str, day: date) -> float | None:
        return self.orders.get(day)


async def test_a_day_above_the_interval_is_one_volume_finding_with_its_evidence() -> None:
    demand = Demand()
    watch = VolumeWatch(demand)
    assert await watch.findings("lab") == []  # keeps today's forecast
    assert await watch.findings("lab") == []  # nothing more today
    assert demand.asked == [DAY]
    demand.orders[DAY] = 320.0
    demand.day = DAY + timedelta(days=1)
    (finding,) = await watch.findings("lab")
    assert finding.kind == "volume" and finding.subject == "orders:daily"
    assert finding.evidence["direction"] == "above" and finding.evidence["day"] == "2026-03-04"
    assert finding.evidence["upper_95"] == 250.0 and finding.evidence["model"] == "ets"


async def test_a_day_inside_the_interval_or_without_a_count_is_quiet() -> None:
    demand = Demand()
    watch = VolumeWatch(demand)
    await watch.findings("lab")
    demand.orders[DAY] = 210.0
    demand.day = DAY + timedelta(days=1)
    assert await watch.findings("lab") == []
    demand.day = DAY + timedelta(days=2)  # no count for the day before: not tested
    assert await watch.findings("lab") == []


def test_a_day_outside_the_fits_horizon_has_no_forecast() -> None:
    assert forecast_for(DAY, DAY + timedelta(days=2), 30) == 2
    assert forecast_for(DAY, DAY - timedelta(days=1), 30) is None
    assert forecast_for(DAY, DAY + timedelta(days=30), 30) is None
