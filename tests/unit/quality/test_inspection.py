"""Final inspection against ANSI Z80.1: every band edge, just inside, exactly on, just outside."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from ils.domain.inspection import (
    EyePowers,
    FieldVerdict,
    PrismImbalance,
    add_tolerance,
    axis_difference,
    axis_tolerance,
    cylinder_tolerance,
    final_inspection,
    measurement_from_dict,
    sphere_tolerance,
)
from ils.errors import ValidationFailed


def _field(verdict_fields: tuple[FieldVerdict, ...], pointer: str) -> FieldVerdict:
    matches = [f for f in verdict_fields if f.pointer == pointer]
    assert len(matches) == 1, f"{pointer} not judged exactly once"
    return matches[0]


def _judge(ordered: EyePowers, measured: EyePowers, lens_type: str, pointer: str) -> FieldVerdict:
    verdict = final_inspection({"od": ordered}, {"od": measured}, lens_type)
    return _field(verdict.fields, pointer)


def _triplet(ordered: float, tol: float, sign: float = 1.0) -> list[tuple[float, float, bool]]:
    """(ordered, measured, pass) just inside, exactly on and just outside the tolerance."""
    return [
        (ordered, ordered + sign * (tol - 0.01), True),
        (ordered, ordered + sign * tol, True),
        (ordered, ordered + sign * (tol + 0.01), False),
    ]


# (lens type, ordered sphere power, tolerance): each band's last value and the next one.
SPHERE_BANDS = [
    ("single_vision", 0.00, 0.13),
    ("single_vision", 6.50, 0.13),
    ("single_vision", -6.50, 0.13),
    ("single_vision", 6.75, 0.135),
    ("single_vision", -12.00, 0.24),
    ("progressive", 8.00, 0.16),
    ("progressive", -8.00, 0.16),
    ("progressive", 8.25, 0.165),
    ("bifocal", 8.00, 0.16),
]
SPHERE_CASES = [
    (lens, o, m, ok, tol)
    for lens, power, tol in SPHERE_BANDS
    for sign in (1.0, -1.0)
    for o, m, ok in _triplet(power, tol, sign)
]


@pytest.mark.parametrize(("lens", "ordered", "measured", "ok", "tol"), SPHERE_CASES)
def test_sphere_band_edges(
    lens: str, ordered: float, measured: float, ok: bool, tol: float
) -> None:
    add = None if lens == "single_vision" else 2.0
    v = _judge(EyePowers(ordered, add=add), EyePowers(measured, add=add), lens, "/od/sphere")
    assert v.passed is ok
    assert v.tolerance == pytest.approx(tol)


def test_sphere_bifocal_uses_general_band_above_6_50() -> None:
    v = _judge(EyePowers(8.0, add=2.0), EyePowers(8.0, add=2.0), "bifocal", "/od/sphere")
    assert v.tolerance == pytest.approx(0.16)  # 2% of 8.00, not the progressive 0.16 flat band
    v = _judge(EyePowers(7.0, add=2.0), EyePowers(7.0, add=2.0), "bifocal", "/od/sphere")
    assert v.tolerance == pytest.approx(0.14)


def test_sphere_is_judged_on_highest_power_meridian() -> None:
    # -2.00 -1.00: meridians -2.00 and -3.00; the -3.00 meridian carries the sphere tolerance.
    ordered = EyePowers(-2.0, -1.0, 90)
    measured = EyePowers(-2.0, -1.14, 90)
    v = _judge(ordered, measured, "single_vision", "/od/sphere")
    assert v.ordered == pytest.approx(-3.0)
    assert v.measured == pytest.approx(-3.14)
    assert not v.passed
    # +3.00 -1.00: meridians +3.00 and +2.00; the sphere meridian is the highest.
    v = _judge(EyePowers(3.0, -1.0, 90), EyePowers(3.13, -1.0, 90), "single_vision", "/od/sphere")
    assert v.ordered == pytest.approx(3.0)
    assert v.passed


# (lens type, ordered cylinder magnitude, tolerance)
CYLINDER_BANDS = [
    ("single_vision", 0.25, 0.13),
    ("single_vision", 2.00, 0.13),
    ("single_vision", 2.25, 0.15),
    ("single_vision", 4.50, 0.15),
    ("single_vision", 4.75, 0.19),
    ("progressive", 2.00, 0.16),
    ("progressive", 2.25, 0.18),
    ("progressive", 3.50, 0.18),
    ("progressive", 3.75, 0.1875),
]
CYLINDER_CASES = [
    (lens, -c, m, ok, tol)
    for lens, c, tol in CYLINDER_BANDS
    for sign in (1.0, -1.0)
    for _, m, ok in _triplet(-c, tol, sign)
]


@pytest.mark.parametrize(("lens", "ordered", "measured", "ok", "tol"), CYLINDER_CASES)
def test_cylinder_band_edges(
    lens: str, ordered: float, measured: float, ok: bool, tol: float
) -> None:
    add = None if lens == "single_vision" else 2.0
    o = EyePowers(0.0, ordered, 90, add=add)
    m = EyePowers(0.0, measured, 90, add=add)
    v = _judge(o, m, lens, "/od/cylinder")
    assert v.passed is ok
    assert v.tolerance == pytest.approx(tol)


# (ordered cylinder magnitude, axis tolerance or None when the axis is not judged)
AXIS_BANDS = [
    (0.11, None),
    (0.12, 14.0),
    (0.25, 14.0),
    (0.26, 7.0),
    (0.50, 7.0),
    (0.51, 5.0),
    (0.75, 5.0),
    (0.76, 3.0),
    (1.50, 3.0),
    (1.51, 2.0),
    (6.00, 2.0),
]


@pytest.mark.parametrize(("cyl", "tol"), AXIS_BANDS)
def test_axis_tolerance_bands(cyl: float, tol: float | None) -> None:
    assert axis_tolerance(-cyl) == tol
    assert axis_tolerance(cyl) == tol


AXIS_CASES = [
    (cyl, delta, delta <= tol)
    for cyl, tol in AXIS_BANDS
    if tol is not None
    for delta in (tol - 1, tol, tol + 1)
]


@pytest.mark.parametrize(("cyl", "delta", "ok"), AXIS_CASES)
def test_axis_band_edges(cyl: float, delta: float, ok: bool) -> None:
    for sign in (1, -1):
        o = EyePowers(0.0, -cyl, 90)
        m = EyePowers(0.0, -cyl, 90 + sign * delta)
        v = _judge(o, m, "single_vision", "/od/axis")
        assert v.passed is ok


def test_no_axis_check_below_0_12() -> None:
    v = final_inspection({"od": EyePowers(0.0, -0.11, 90)}, {"od": EyePowers(0.0)}, "single_vision")
    assert not any(f.pointer == "/od/axis" for f in v.fields)
    v = final_inspection({"od": EyePowers(-1.0)}, {"od": EyePowers(-1.0)}, "single_vision")
    assert [f.pointer for f in v.fields] == ["/od/sphere", "/od/cylinder"]


@pytest.mark.parametrize(
    ("ordered_axis", "measured_axis", "ok"),
    [
        (179, 2, True),
        (2, 179, True),
        (179, 3, False),
        (180, 0, True),
        (1, 178, True),
        (1, 177, False),
    ],
)
def test_axis_wraps_around(ordered_axis: float, measured_axis: float, ok: bool) -> None:
    v = _judge(
        EyePowers(0.0, -1.0, ordered_axis),
        EyePowers(0.0, -1.0, measured_axis),
        "single_vision",
        "/od/axis",
    )
    assert v.passed is ok


def test_axis_difference() -> None:
    assert axis_difference(179, 2) == 3
    assert axis_difference(90, 0) == 90
    assert axis_difference(180, 0) == 0


def test_both_cylinder_sign_conventions() -> None:
    plus = EyePowers(-3.0, 2.0, 30)
    minus = EyePowers(-1.0, -2.0, 120)
    for ordered, measured in ((plus, minus), (minus, plus), (plus, plus)):
        verdict = final_inspection({"od": ordered}, {"od": measured}, "single_vision")
        assert verdict.passed
        cyl = _field(verdict.fields, "/od/cylinder")
        axis = _field(verdict.fields, "/od/axis")
        assert (cyl.ordered, axis.ordered) == (-2.0, 120)
    wrong_axis = EyePowers(-3.0, 2.0, 120)  # plus form at the wrong axis: a 90 degree miss
    verdict = final_inspection({"od": minus}, {"od": wrong_axis}, "single_vision")
    assert not _field(verdict.fields, "/od/axis").passed


ADD_CASES = [
    (o, m, ok, tol)
    for o, tol in ((4.00, 0.12), (4.25, 0.18), (0.75, 0.12))
    for sign in (1.0, -1.0)
    for _, m, ok in _triplet(o, tol, sign)
]


@pytest.mark.parametrize(("ordered", "measured", "ok", "tol"), ADD_CASES)
def test_add_band_edges(ordered: float, measured: float, ok: bool, tol: float) -> None:
    for lens in ("bifocal", "progressive", "occupational"):
        v = _judge(EyePowers(1.0, add=ordered), EyePowers(1.0, add=measured), lens, "/od/add")
        assert v.passed is ok
        assert v.tolerance == pytest.approx(tol)


def test_add_not_judged_for_single_vision() -> None:
    v = final_inspection(
        {"od": EyePowers(1.0, add=2.0)}, {"od": EyePowers(1.0, add=3.0)}, "single_vision"
    )
    assert v.passed
    assert not any(f.pointer.endswith("/add") for f in v.fields)


SEG_CASES = [(18.0, 18.0 + s * d, d <= 1.0) for d in (0.9, 1.0, 1.1) for s in (1, -1)]


@pytest.mark.parametrize(("ordered", "measured", "ok"), SEG_CASES)
def test_seg_height_band_edges(ordered: float, measured: float, ok: bool) -> None:
    o = EyePowers(1.0, add=2.0, seg_height=ordered)
    m = EyePowers(1.0, add=2.0, seg_height=measured)
    assert _judge(o, m, "progressive", "/od/seg_height").passed is ok


PRISM_CASES = [
    (PrismImbalance(v, 0.0), "/prism_imbalance/vertical", abs(v) <= 0.33)
    for v in (0.32, 0.33, 0.34, -0.32, -0.33, -0.34)
] + [
    (PrismImbalance(0.0, h), "/prism_imbalance/horizontal", abs(h) <= 0.67)
    for h in (0.66, 0.67, 0.68, -0.66, -0.67, -0.68)
]


@pytest.mark.parametrize(("prism", "pointer", "ok"), PRISM_CASES)
def test_prism_imbalance_edges(prism: PrismImbalance, pointer: str, ok: bool) -> None:
    eye = EyePowers(-1.0)
    verdict = final_inspection(
        {"od": eye, "os": eye}, {"od": eye, "os": eye}, "single_vision", prism
    )
    assert _field(verdict.fields, pointer).passed is ok
    assert verdict.passed is ok


def test_overall_verdict_and_dict_shape() -> None:
    ordered = {
        "od": EyePowers(-2.25, -0.75, 180, add=2.0, seg_height=18.0),
        "os": EyePowers(-2.0, -0.5, 175, add=2.0, seg_height=18.0),
    }
    measured = {
        "od": EyePowers(-2.25, -0.75, 178, add=2.0, seg_height=18.5),
        "os": EyePowers(-2.0, -0.5, 175, add=2.0, seg_height=20.0),
    }
    verdict = final_inspection(ordered, measured, "progressive", PrismImbalance(0.1, 0.2))
    assert not verdict.passed
    assert [f.pointer for f in verdict.failures()] == ["/os/seg_height"]
    body = verdict.as_dict()
    assert body["pass"] is False
    assert body["fields"][0] == {
        "pointer": "/od/sphere",
        "ordered": -3.0,
        "measured": -3.0,
        "tolerance": 0.16,
        "pass": True,
    }


@pytest.mark.parametrize(
    ("measured", "pointer", "code"),
    [
        (EyePowers(math.nan), "/measured/od/sphere", "not-a-number"),
        (EyePowers(30.25), "/measured/od/sphere", "out-of-range"),
        (EyePowers(-31.0), "/measured/od/sphere", "out-of-range"),
        (EyePowers(-1.0, -1.0, 181), "/measured/od/axis", "out-of-range"),
        (EyePowers(-1.0, -1.0, -1), "/measured/od/axis", "out-of-range"),
        (EyePowers(-1.0, -1.0, None), "/measured/od/axis", "axis-required"),
        (EyePowers(-1.0, math.inf, 90), "/measured/od/cylinder", "not-a-number"),
        (EyePowers(-1.0, add=2.0, seg_height=-0.5), "/measured/od/seg_height", "out-of-range"),
        (EyePowers(-1.0, seg_height=18.0), "/measured/od/add", "measurement-missing"),
        (EyePowers(-1.0, add=2.0), "/measured/od/seg_height", "measurement-missing"),
    ],
)
def test_impossible_measurements_are_refused(measured: EyePowers, pointer: str, code: str) -> None:
    ordered = EyePowers(-1.0, add=2.0, seg_height=18.0)
    with pytest.raises(ValidationFailed) as caught:
        final_inspection({"od": ordered}, {"od": measured}, "progressive")
    assert (pointer, code) in [(i.pointer, i.code) for i in caught.value.issues]


def test_edge_of_valid_measured_ranges_is_accepted() -> None:
    measured = EyePowers(30.0, -1.0, 0, add=2.0, seg_height=0.0)
    verdict = final_inspection(
        {"od": EyePowers(-1.0, -1.0, 180, add=2.0, seg_height=18.0)}, {"od": measured}, "bifocal"
    )
    assert not verdict.passed  # judged (and failed), not refused


def test_missing_eye_nan_prism_and_unknown_lens_type_are_refused() -> None:
    eye = EyePowers(-1.0)
    with pytest.raises(ValidationFailed) as caught:
        final_inspection(
            {"od": eye, "os": eye}, {"od": eye}, "trifocal", PrismImbalance(math.nan, 0.0)
        )
    pointers = {i.pointer for i in caught.value.issues}
    assert pointers == {"/measured/os", "/lens/type", "/measured/prism_imbalance/vertical"}


def test_measurement_from_api_body() -> None:
    eyes, prism = measurement_from_dict(
        {
            "od": {"sphere": -2.0, "cylinder": -0.5, "axis": 90, "add": 2.0, "seg_height": 18},
            "os": {"sphere": -1.75},
            "prism_imbalance": {"vertical": 0.2, "horizontal": 0.1},
        }
    )
    assert eyes["od"] == EyePowers(-2.0, -0.5, 90.0, 2.0, 18.0)
    assert eyes["os"] == EyePowers(-1.75)
    assert prism == PrismImbalance(0.2, 0.1)
    with pytest.raises(ValidationFailed) as caught:
        measurement_from_dict({"od": {"cylinder": -0.5}})
    assert caught.value.issues[0].pointer == "/measured/od/sphere"


@pytest.mark.parametrize(
    ("fn", "power", "lens", "tol"),
    [
        (sphere_tolerance, 6.50, "single_vision", 0.13),
        (sphere_tolerance, 6.51, "single_vision", 0.1302),
        (sphere_tolerance, -6.51, "bifocal", 0.1302),
        (sphere_tolerance, 8.00, "progressive", 0.16),
        (sphere_tolerance, 8.01, "progressive", 0.1602),
        (cylinder_tolerance, 2.00, "single_vision", 0.13),
        (cylinder_tolerance, 2.01, "single_vision", 0.15),
        (cylinder_tolerance, 4.50, "occupational", 0.15),
        (cylinder_tolerance, -4.51, "occupational", 0.1804),
        (cylinder_tolerance, 2.00, "progressive", 0.16),
        (cylinder_tolerance, 2.01, "progressive", 0.18),
        (cylinder_tolerance, 3.50, "progressive", 0.18),
        (cylinder_tolerance, 3.51, "progressive", 0.1755),
    ],
)
def test_tolerance_switches_exactly_at_band_limits(
    fn: Callable[[float, str], float], power: float, lens: str, tol: float
) -> None:
    assert fn(power, lens) == pytest.approx(tol)


@pytest.mark.parametrize(("add", "tol"), [(4.00, 0.12), (4.01, 0.18), (3.99, 0.12)])
def test_add_tolerance_switches_at_4_00(add: float, tol: float) -> None:
    assert add_tolerance(add) == tol
