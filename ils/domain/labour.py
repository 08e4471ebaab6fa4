"""Labour minutes a job needs at each station, by lens type: the defaults and a lab's own.

Staffing needs the staff time a job takes at a station (hands-on minutes), not the machine cycle:
a generator or a coating chamber runs unattended once loaded. Until the station actors measure
service times per lens type, a lab may store its own (``station_labour_minutes`` in its settings,
``{station: {lens_type: minutes}}``) and these defaults fill the rest.

How the defaults follow from DOMAIN.md's scale references:

- "a large lab does about 2,000 jobs/day with about 70 staff (about 28 jobs per staff-day)":
  one 8 h staff-day at 85% productive time is 408 min, so about 15 staff minutes per job in all.
  The defaults below add up to 15-19 min for a surfaced job and less for a job without AR or tint.
- Surfacing (blocking, generating, fining/polishing, engraving, deblocking) is the most
  hands-on department: 5 min per job, with free-form progressive and occupational designs and
  bifocal segments taking 10-25% longer.
- Hard coat and AR coat are batch chambers ("about 4 hours end to end"): staff time is loading
  and unloading, shared by the batch: about 8 min per 24-lens hard-coat batch and 15 min per
  30-lens AR batch.
- "An industrial edger does 150-250 jobs/day": a 5 min machine cycle of which about half is
  staff time (tracing, blocking, loading).
- AR coating and tinting are visited only by jobs with those coatings; the service multiplies
  those stations by the lab's measured share of such jobs.
"""

from __future__ import annotations

from collections.abc import Mapping

from ils.domain.station import Station

LENS_TYPES: tuple[str, ...] = ("single_vision", "bifocal", "progressive", "occupational")

#: Labour minutes per job at each station, for a job of average difficulty.
BASE_MINUTES: dict[Station, float] = {
    Station.ORDER_ENTRY: 1.5,
    Station.PICKING: 1.0,
    Station.SURFACING: 5.0,
    Station.HARD_COAT: 8.0 / 24.0,
    Station.AR_COAT: 15.0 / 30.0,
    Station.TINTING: 3.0,
    Station.EDGING: 2.5,
    Station.MOUNTING: 3.5,
    Station.FINAL_INSPECTION: 1.5,
    Station.SHIPPING: 1.0,
}

#: Multipliers by lens type where the design makes the work longer.
LENS_FACTORS: dict[Station, dict[str, float]] = {
    Station.SURFACING: {"progressive": 1.25, "occupational": 1.2, "bifocal": 1.1},
    Station.MOUNTING: {"progressive": 1.1},
    Station.FINAL_INSPECTION: {"progressive": 1.2, "bifocal": 1.1, "occupational": 1.1},
}

#: Stations only jobs with this coating visit.
COATING_STATIONS: dict[Station, str] = {Station.AR_COAT: "ar", Station.TINTING: "tint"}


def default_minutes(station: Station, lens_type: str) -> float:
    return BASE_MINUTES[station] * LENS_FACTORS.get(station, {}).get(lens_type, 1.0)


def station_minutes(
    lens_types: list[str], overrides: Mapping[str, Mapping[str, float]]
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Labour minutes per station and lens type, and the source of each station's figures.

    ``overrides`` (the lab's stored settings) win for each (station, lens type) they give.
    """
    minutes: dict[str, dict[str, float]] = {}
    sources: dict[str, str] = {}
    for station in Station:
        own = overrides.get(station.value, {})
        minutes[station.value] = {
            t: float(own[t]) if t in own else default_minutes(station, t) for t in lens_types
        }
        given = [t for t in lens_types if t in own]
        sources[station.value] = (
            "defaults (DOMAIN.md)"
            if not given
            else "lab settings"
            if len(given) == len(lens_types)
            else "lab settings and defaults (DOMAIN.md)"
        )
    return minutes, sources
