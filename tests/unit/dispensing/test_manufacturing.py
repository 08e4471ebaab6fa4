"""Manufacturing model: rates from the lab's own jobs, backoff, and no rate where data is thin."""

from __future__ import annotations

import numpy as np

from ils.analytics.dispensing.manufacturing import JobOutcome, ManufacturingModel


def jobs(n: int, breakages: int, design: str = "A", power: float = 1.0) -> list[JobOutcome]:
    return [
        JobOutcome(
            "progressive", "1.60", design, frozenset({"ar"}), power,
            breakage=i < breakages, remake=False, non_adapt=i < breakages // 2,
            lead_time_days=float(3 + i % 3),
        )
        for i in range(n)
    ]  # fmt: skip


CONFIG_A = ("progressive", "1.60", "A", ("ar",))


def test_rates_are_counts_with_an_interval_around_them() -> None:
    model = ManufacturingModel.fit(jobs(100, 10), min_jobs=30)
    estimate = model.estimate(CONFIG_A, "0-2D")
    rate = estimate.rates["breakage"]
    assert estimate.level == "configuration+band" and estimate.jobs == 100
    assert rate.rate == 0.1 and rate.low < 0.1 < rate.high
    assert estimate.lead_time_median_days == 4.0


def test_thin_band_backs_off_to_the_configuration_in_every_band() -> None:
    model = ManufacturingModel.fit(jobs(100, 10) + jobs(5, 5, power=7.0), min_jobs=30)
    estimate = model.estimate(CONFIG_A, "6D+")
    assert estimate.level == "configuration" and estimate.jobs == 105


def test_thin_data_gives_no_rate_and_no_adjustment() -> None:
    model = ManufacturingModel.fit(jobs(10, 5), min_jobs=30)
    assert not model.estimate(CONFIG_A, "0-2D").known
    assert model.excess(CONFIG_A, "0-2D") == {}


def test_excess_compares_a_design_with_its_lens_type() -> None:
    model = ManufacturingModel.fit(jobs(100, 20, "A") + jobs(100, 0, "B"), min_jobs=30)
    excess_a = model.excess(CONFIG_A, "0-2D")
    excess_b = model.excess(("progressive", "1.60", "B", ("ar",)), "0-2D")
    assert np.isclose(excess_a["breakage"], 0.1) and np.isclose(excess_b["breakage"], -0.1)


def test_an_outcome_the_lab_does_not_record_gets_no_rate_at_all() -> None:
    model = ManufacturingModel.fit(jobs(100, 10), min_jobs=30, outcomes=("remake", "non_adapt"))
    estimate = model.estimate(CONFIG_A, "0-2D")
    assert set(estimate.rates) == {"remake", "non_adapt"}
    assert estimate.rates["non_adapt"].events == 5
    assert "breakage" not in model.excess(CONFIG_A, "0-2D")
    assert set(model.excess_columns((CONFIG_A,), "0-2D")) == {"remake", "non_adapt"}
