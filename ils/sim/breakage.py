"""Breakage: a failure that restarts a lens at an earlier station, with a reason code.

Drivers (DOMAIN.md): high power, prism, large blanks, difficult edging, failed coating batches and
inspection power misses; finishing spoils about 30% more than the other departments. A broken lens
needs a new blank (restart at picking) unless the reason is a coating defect that can be stripped
and re-coated, which restarts at the coating station's predecessor on the job's route.
"""

from __future__ import annotations

import numpy as np

from ils.domain.station import Station
from ils.sim.config import LabConfig
from ils.sim.job import Job

#: Reason codes per station with their relative weights, and whether the lens can be reworked
#: (stripped and re-coated) instead of re-made from a new blank.
REASONS: dict[Station, tuple[tuple[str, float, bool], ...]] = {
    Station.PICKING: (("wrong_blank", 1.0, False),),
    Station.SURFACING: (
        ("generator_chip", 0.35, False),
        ("polish_scratch", 0.35, False),
        ("power_error", 0.2, False),
        ("block_slip", 0.1, False),
    ),
    Station.HARD_COAT: (("coating_run", 0.6, True), ("coating_contamination", 0.4, True)),
    Station.AR_COAT: (("ar_craze", 0.5, True), ("ar_spot", 0.5, True)),
    Station.TINTING: (("tint_mismatch", 0.7, True), ("tint_streak", 0.3, True)),
    Station.EDGING: (
        ("edge_chip", 0.4, False),
        ("size_error", 0.35, False),
        ("axis_error", 0.25, False),
    ),
    Station.MOUNTING: (("mount_crack", 0.6, False), ("frame_strain", 0.4, False)),
    Station.FINAL_INSPECTION: (("inspection_power_miss", 1.0, False),),
}
BATCH_FAILURE_REASON = "coating_batch_failure"
FINISHING = frozenset({Station.EDGING, Station.MOUNTING})


def breakage_probability(config: LabConfig, station: Station, job: Job) -> float:
    p = config.stations[station].breakage
    if station in FINISHING:
        p *= config.finishing_breakage_factor
    if job.high_power:
        p *= config.high_power_breakage_factor
    if job.has_prism:
        p *= config.prism_breakage_factor
    return min(p, 1.0)


def restart_station(job: Job, station: Station, rework: bool) -> Station:
    """The earlier station a broken job restarts at (always strictly before ``station``)."""
    here = job.route.index(station)
    if rework and here > 0:
        return job.route[here - 1]
    return Station.PICKING if Station.PICKING in job.route[:here] else job.route[0]


def draw_reason(station: Station, rng: np.random.Generator) -> tuple[str, bool]:
    reasons = REASONS[station]
    weights = np.array([w for _, w, _ in reasons])
    code, _, rework = reasons[int(rng.choice(len(reasons), p=weights / weights.sum()))]
    return code, rework
