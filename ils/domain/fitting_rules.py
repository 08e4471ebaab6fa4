"""Fitting rules: distance and near PD, segment/fitting height, progressive fitting, the frame.

Limits are DOMAIN.md "The prescription" unless a comment says otherwise: PD binocular 50..80 mm or
monocular 25..40 mm per eye, near PD defaulting to PD - 3 / - 1.5 mm, segment height 10..40 mm, all
by 0.5 mm; a progressive needs a fitting height >= the design's minimum and frame B >= 28 mm
(>= 22 mm for short-corridor designs).
"""

from __future__ import annotations

from collections.abc import Iterator

from ils.domain.finding import Finding, Scale, check_scale, error, warning
from ils.domain.lens import HEIGHT_FITTED_TYPES, Frame, Lens, LensType
from ils.domain.quantity import MM_STEP, on_step
from ils.domain.rx import EyeRx, PdForm, Rx, pd_form

BINOCULAR_PD = Scale("pd", 50.0, 80.0, MM_STEP, "mm")
MONOCULAR_PD = Scale("pd", 25.0, 40.0, MM_STEP, "mm")
SEG_HEIGHT = Scale("seg-height", 10.0, 40.0, MM_STEP, "mm")

#: Design minimum fitting height when the catalogue does not know it (DOMAIN.md: typically 14-17).
DEFAULT_MIN_FITTING_HEIGHT_MM = 15.0
PROGRESSIVE_MIN_B_MM = 28.0
SHORT_CORRIDOR_MIN_B_MM = 22.0
#: Design codes that name a short-corridor progressive ("...-short", "compact ...").
SHORT_CORRIDOR_MARKERS = ("short", "compact")

# Near PD lower bound from convergence geometry: eyes rotating about centres ~27 mm behind the
# spectacle plane (12 mm vertex + ~15 mm cornea to centre of rotation) fixating at distance d in
# front of it cross the plane at PD * d / (d + 27). Below the value for d = 200 mm, a closer
# reading distance than anyone works at, the near PD is more likely a typing error.
_ROTATION_CENTRE_MM = 27.0
_CLOSEST_WORKING_DISTANCE_MM = 200.0
NEAR_PD_MIN_RATIO = _CLOSEST_WORKING_DISTANCE_MM / (
    _CLOSEST_WORKING_DISTANCE_MM + _ROTATION_CENTRE_MM
)


def is_short_corridor(design: str | None) -> bool:
    """True when the design code marks a short-corridor progressive (see SHORT_CORRIDOR_MARKERS)."""
    code = (design or "").lower()
    return any(marker in code for marker in SHORT_CORRIDOR_MARKERS)


def pd_rules(rx: Rx, lens_type: LensType) -> Iterator[Finding]:
    """Distance PD: a binocular PD on one eye, or monocular PDs on both (see :class:`EyeRx`)."""
    form = pd_form(rx)
    if form is None:
        yield error(
            "/rx/od/pd",
            "pd-required",
            "give a binocular PD on od, or a monocular PD on each eye",
        )
    elif form is PdForm.MONOCULAR:
        for name, eye in rx.eyes():
            assert eye.pd is not None
            if BINOCULAR_PD.contains(eye.pd):
                yield error(
                    f"/rx/{name}/pd",
                    "pd-out-of-range",
                    f"{eye.pd:g} mm is a binocular PD: give it on od only, "
                    "or a monocular PD (25..40 mm) on each eye",
                )
            else:
                yield from check_scale(eye.pd, MONOCULAR_PD, f"/rx/{name}/pd")
    else:
        yield from _binocular_pd_rules(rx, lens_type)


def _binocular_pd_rules(rx: Rx, lens_type: LensType) -> Iterator[Finding]:
    name, other = ("od", "os") if rx.od.pd is not None else ("os", "od")
    pd = rx.od.pd if rx.od.pd is not None else rx.os.pd
    assert pd is not None
    if MONOCULAR_PD.contains(pd):
        yield error(
            f"/rx/{other}/pd",
            "pd-required",
            f"{pd:g} mm on {name} is a monocular PD: give the {other} PD too",
        )
        return
    yield from check_scale(pd, BINOCULAR_PD, f"/rx/{name}/pd")
    if lens_type is LensType.PROGRESSIVE:
        yield warning(
            f"/rx/{name}/pd",
            "monocular-pd-preferred",
            "progressives are fitted per eye: monocular PDs avoid fitting errors",
        )


def near_pd_rules(rx: Rx) -> Iterator[Finding]:
    """Near PD has the shape of the distance PD, sits on the grid and does not exceed it."""
    for name, eye in rx.eyes():
        if eye.near_pd is None:
            continue
        at = f"/rx/{name}/near_pd"
        if eye.pd is None:
            yield error(
                at, "near-pd-without-pd", f"give the near PD with the distance PD of {name}"
            )
        elif not on_step(eye.near_pd, MM_STEP):
            yield error(at, "near-pd-step", f"{eye.near_pd:g} mm is not a multiple of 0.5 mm")
        elif eye.near_pd > eye.pd:
            yield error(
                at, "near-pd-exceeds-pd", f"near PD {eye.near_pd:g} mm > distance PD {eye.pd:g} mm"
            )
        elif eye.near_pd < eye.pd * NEAR_PD_MIN_RATIO:
            yield warning(
                at,
                "near-pd-unusual",
                f"near PD {eye.near_pd:g} mm implies reading closer than "
                f"{_CLOSEST_WORKING_DISTANCE_MM / 10:g} cm: check it",
            )


def seg_height_rules(
    rx: Rx, lens: Lens, frame: Frame, min_fitting_height: float | None
) -> Iterator[Finding]:
    """Segment/fitting height: required for bifocals and progressives, within the frame."""
    minimum = DEFAULT_MIN_FITTING_HEIGHT_MM if min_fitting_height is None else min_fitting_height
    for name, eye in rx.eyes():
        at = f"/rx/{name}/seg_height"
        if eye.seg_height is None:
            if lens.type in HEIGHT_FITTED_TYPES:
                yield error(at, "seg-height-required", f"a {lens.type} lens needs a seg height")
            continue
        yield from _one_seg_height(at, eye, lens.type, frame, minimum)


def _one_seg_height(
    at: str, eye: EyeRx, lens_type: LensType, frame: Frame, minimum: float
) -> Iterator[Finding]:
    assert eye.seg_height is not None
    findings = list(check_scale(eye.seg_height, SEG_HEIGHT, at))
    yield from findings
    if findings:
        return
    if lens_type is LensType.PROGRESSIVE and eye.seg_height < minimum:
        yield error(
            at,
            "seg-height-below-design-minimum",
            f"{eye.seg_height:g} mm is below the design's minimum fitting height {minimum:g} mm",
        )
    if frame.b is not None and eye.seg_height > frame.b:
        yield error(
            at,
            "seg-height-exceeds-frame",
            f"{eye.seg_height:g} mm is above the lens shape (frame B {frame.b:g} mm)",
        )


def progressive_frame_rules(
    lens: Lens, frame: Frame, short_corridor: bool | None
) -> Iterator[Finding]:
    """A progressive needs room for its corridor: frame B >= 28 mm, 22 mm if short-corridor."""
    if lens.type is not LensType.PROGRESSIVE or frame.b is None:
        return
    if not FRAME_B.contains(frame.b):
        return  # already refused by frame_rules
    short = is_short_corridor(lens.design) if short_corridor is None else short_corridor
    minimum = SHORT_CORRIDOR_MIN_B_MM if short else PROGRESSIVE_MIN_B_MM
    if frame.b < minimum:
        kind = "short-corridor progressive" if short else "progressive"
        yield error(
            "/frame/b",
            "frame-too-shallow",
            f"frame B {frame.b:g} mm < {minimum:g} mm needed by a {kind} design",
        )


# Frame sanity in the boxing system (ISO 8624 / ANSI Z80.5 measurements). Eye sizes (A) run from
# about 33 mm (small children's frames) to about 65 mm (oversize and sun wraps); 30..75 mm leaves a
# margin. Box depth (B) runs from about 20 mm (half-eye readers) to about 55 mm (aviators): 15..60.
# Bridges (DBL) are 14-24 mm on most frames, 10..30 mm covers the extremes. ED is the longest
# diameter of the shape, so it is at least A and at most A's maximum plus a diagonal: 30..85 mm.
FRAME_A = Scale("frame-a", 30.0, 75.0, None, "mm")
FRAME_B = Scale("frame-b", 15.0, 60.0, None, "mm")
FRAME_DBL = Scale("frame-dbl", 10.0, 30.0, None, "mm")
FRAME_ED = Scale("frame-ed", 30.0, 85.0, None, "mm")
#: A, B and DBL are needed to place the optical centres; ED may come from the lab's frame trace.
REQUIRED_FRAME_MEASUREMENTS = ("a", "b", "dbl")


def frame_rules(frame: Frame) -> Iterator[Finding]:
    """Each measurement given and in range; B <= A and ED >= A."""
    scales = {"a": FRAME_A, "b": FRAME_B, "dbl": FRAME_DBL, "ed": FRAME_ED}
    for field, scale in scales.items():
        value = getattr(frame, field)
        if value is None:
            if field in REQUIRED_FRAME_MEASUREMENTS:
                yield error(
                    f"/frame/{field}", "frame-measurement-required", f"give the frame's {field}"
                )
            continue
        yield from check_scale(value, scale, f"/frame/{field}")
    if frame.a is None:
        return
    if frame.b is not None and frame.b > frame.a:
        yield error("/frame/b", "frame-b-exceeds-a", f"B {frame.b:g} mm > A {frame.a:g} mm")
    if frame.ed is not None and frame.ed < frame.a:
        yield error("/frame/ed", "frame-ed-below-a", f"ED {frame.ed:g} mm < A {frame.a:g} mm")
