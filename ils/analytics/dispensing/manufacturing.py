"""What the lab's own history says about a lens configuration: breakage, remakes, non-adapts and
lead times, by configuration (type, material, design, coatings) and Rx power band.

Rates are counts over jobs with a Jeffreys 95% interval. Where a
configuration has fewer than ``min_jobs`` jobs in the band, the estimate backs off to coarser
groups (configuration in every band, then type + material in the band, then type in the band) and
says which; where even the coarsest group is thin, there is no rate and no ranking adjustment.
An outcome the lab does not record (``outcomes`` of ``fit``) gets no rate at all, never 0%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.stats import beta

from ils.analytics.dispensing.prescription import power_band

Configuration = tuple[str, str, str, tuple[str, ...]]
OUTCOMES: Final = ("breakage", "remake", "non_adapt")
LEVELS: Final = ("configuration+band", "configuration", "type+material+band", "type+band")


@dataclass(frozen=True)
class JobOutcome:
    """One finished job of the lab. ``lead_time_days`` from order to shipment, if shipped."""

    lens_type: str
    material: str
    design: str
    coatings: frozenset[str]
    max_power: float
    breakage: bool
    remake: bool
    non_adapt: bool
    lead_time_days: float | None = None

    @property
    def configuration(self) -> Configuration:
        return (self.lens_type, self.material, self.design, tuple(sorted(self.coatings)))


@dataclass(frozen=True)
class Rate:
    """Events over jobs with a Jeffreys 95% interval (Brown, Cai & DasGupta 2001)."""

    events: int
    jobs: int

    @property
    def rate(self) -> float:
        return self.events / self.jobs

    @cached_property
    def low(self) -> float:
        a, b = self.events + 0.5, self.jobs - self.events + 0.5
        return 0.0 if self.events == 0 else float(beta.ppf(0.025, a, b))

    @cached_property
    def high(self) -> float:
        a, b = self.events + 0.5, self.jobs - self.events + 0.5
        return 1.0 if self.events == self.jobs else float(beta.ppf(0.975, a, b))

    def describe(self, what: str) -> str:
        return (
            f"{what} {self.rate:.1%} (95% CI {self.low:.1%}-{self.high:.1%}, "
            f"{self.events}/{self.jobs} jobs)"
        )


@dataclass(frozen=True)
class OutcomeEstimate:
    """Rates for one configuration and band, from the group named by ``level`` (None: too thin)."""

    level: str | None
    jobs: int
    rates: dict[str, Rate]
    lead_time_median_days: float | None
    lead_time_p90_days: float | None

    @property
    def known(self) -> bool:
        return self.level is not None


@dataclass
class _Group:
    jobs: int = 0
    events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    lead_times: list[float] = field(default_factory=list)


def _keys(config: Configuration, band: str) -> tuple[tuple[object, ...], ...]:
    lens_type, material = config[0], config[1]
    return ((config, band), (config,), (lens_type, material, band), (lens_type, band))


class ManufacturingModel:
    """Fitted from the lab's outcomes; answers ``estimate(configuration, band)``."""

    def __init__(self, min_jobs: int = 30, outcomes: tuple[str, ...] = OUTCOMES) -> None:
        self.min_jobs = min_jobs
        self.outcomes: tuple[str, ...] = tuple(o for o in OUTCOMES if o in outcomes)
        self._groups: dict[tuple[object, ...], _Group] = defaultdict(_Group)
        self._baseline: dict[str, _Group] = defaultdict(_Group)
        self._memo: dict[tuple[Configuration, str], OutcomeEstimate] = {}
        self._columns: dict[tuple[int, str], tuple[object, dict[str, npt.NDArray[np.float64]]]] = {}

    @classmethod
    def fit(
        cls,
        history: Iterable[JobOutcome],
        min_jobs: int = 30,
        outcomes: tuple[str, ...] = OUTCOMES,
    ) -> ManufacturingModel:
        """``outcomes``: those the history records (without breakage records: no breakage)."""
        model = cls(min_jobs, outcomes)
        for job in history:
            band = power_band(job.max_power)
            groups = [model._groups[k] for k in _keys(job.configuration, band)]
            for group in [*groups, model._baseline[job.lens_type]]:
                group.jobs += 1
                for outcome in OUTCOMES:
                    group.events[outcome] += bool(getattr(job, outcome))
                if job.lead_time_days is not None:
                    group.lead_times.append(job.lead_time_days)
        return model

    @property
    def jobs(self) -> int:
        return sum(g.jobs for g in self._baseline.values())

    def baseline(self, lens_type: str) -> dict[str, Rate] | None:
        """The lab's rates for a lens type over every configuration, or None when thin."""
        group = self._baseline.get(lens_type)
        if group is None or group.jobs < self.min_jobs:
            return None
        return {o: Rate(group.events[o], group.jobs) for o in self.outcomes}

    def estimate(self, config: Configuration, band: str) -> OutcomeEstimate:
        memo = self._memo.get((config, band))
        if memo is None:
            memo = self._memo[(config, band)] = self._estimate(config, band)
        return memo

    def _estimate(self, config: Configuration, band: str) -> OutcomeEstimate:
        for level, key in zip(LEVELS, _keys(config, band), strict=True):
            group = self._groups.get(key)
            if group is not None and group.jobs >= self.min_jobs:
                rates = {o: Rate(group.events[o], group.jobs) for o in self.outcomes}
                lead = np.asarray(group.lead_times) if group.lead_times else None
                return OutcomeEstimate(
                    level,
                    group.jobs,
                    rates,
                    None if lead is None else float(np.median(lead)),
                    None if lead is None else float(np.quantile(lead, 0.9)),
                )
        thin = self._groups.get((config, band))
        return OutcomeEstimate(None, 0 if thin is None else thin.jobs, {}, None, None)

    def excess(self, config: Configuration, band: str) -> dict[str, float]:
        """Rate above (or below) the lab's rate for the same lens type; empty when unknown.

        Groups that were backed off to ``type+band`` say nothing about this configuration in
        particular, so they give no excess either.
        """
        estimate = self.estimate(config, band)
        base = self.baseline(config[0])
        if not estimate.known or base is None or estimate.level == "type+band":
            return {}
        return {o: estimate.rates[o].rate - base[o].rate for o in self.outcomes}

    def excess_columns(
        self, configurations: tuple[Configuration, ...], band: str
    ) -> dict[str, npt.NDArray[np.float64]]:
        """``excess`` for each configuration of a catalog index (0 where unknown), memoised."""
        key = (id(configurations), band)
        cached = self._columns.get(key)
        if cached is not None and cached[0] is configurations:
            return cached[1]
        columns = {o: np.zeros(len(configurations)) for o in self.outcomes}
        for i, config in enumerate(configurations):
            for outcome, value in self.excess(config, band).items():
                columns[outcome][i] = value
        self._columns[key] = (configurations, columns)
        return columns
