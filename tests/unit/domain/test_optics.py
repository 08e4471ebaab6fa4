"""Transposition, spherical equivalent, meridian powers and near PD defaults."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ils.domain.quantity import on_step, quantise
from ils.domain.rx import (
    EyeRx,
    PdForm,
    Rx,
    effective_near_pd,
    meridian_powers,
    pd_form,
    perpendicular_axis,
    principal_meridians,
    spherical_equivalent,
    strongest_meridian_power,
    to_minus_cylinder,
    to_plus_cylinder,
    transpose,
)


def eye(sphere: float, cylinder: float = 0.0, axis: int | None = None, **rest: float) -> EyeRx:
    return EyeRx.model_validate({"sphere": sphere, "cylinder": cylinder, "axis": axis, **rest})


def test_domain_example_transposes() -> None:
    result = transpose(eye(-3.00, +2.00, 30))
    assert (result.sphere, result.cylinder, result.axis) == (-1.00, -2.00, 120)


@pytest.mark.parametrize(
    ("axis", "expected"), [(1, 91), (30, 120), (90, 180), (91, 1), (120, 30), (180, 90)]
)
def test_perpendicular_axis_stays_in_1_to_180(axis: int, expected: int) -> None:
    assert perpendicular_axis(axis) == expected


def test_spherical_lens_is_unchanged_by_transposition() -> None:
    plain = eye(-2.50)
    assert transpose(plain) == plain


def test_transposition_keeps_other_fields() -> None:
    before = eye(+1.00, +0.75, 45, add=2.0, pd=31.5, seg_height=18.0)
    after = transpose(before)
    assert (after.add, after.pd, after.seg_height) == (2.0, 31.5, 18.0)


def test_minus_and_plus_cylinder_forms() -> None:
    rx = Rx(od=eye(-3.00, +2.00, 30), os=eye(-1.00, -0.50, 170))
    minus = to_minus_cylinder(rx)
    assert (minus.od.sphere, minus.od.cylinder, minus.od.axis) == (-1.00, -2.00, 120)
    assert minus.os == rx.os
    plus = to_plus_cylinder(rx)
    assert plus.od == rx.od
    assert (plus.os.sphere, plus.os.cylinder, plus.os.axis) == (-1.50, +0.50, 80)


def test_spherical_equivalent_and_meridians() -> None:
    lens = eye(-3.00, +2.00, 30)
    assert spherical_equivalent(lens) == -2.00
    assert meridian_powers(lens) == (-3.00, -1.00)
    assert principal_meridians(lens) == ((30, -3.00), (120, -1.00))
    assert strongest_meridian_power(lens) == -3.00
    assert strongest_meridian_power(eye(+2.00, +2.25, 10)) == 4.25


def test_quantise_snaps_float_noise_but_not_real_values() -> None:
    assert quantise(0.1 + 0.2 - 0.05) == 0.25
    assert quantise(-0.0) == 0.0
    assert quantise(1.13) == 1.13
    assert on_step(2.5000000001, 0.25)
    assert not on_step(2.51, 0.25)


@pytest.mark.parametrize(
    ("od", "os", "form", "near"),
    [
        ({"pd": 64.0}, {}, PdForm.BINOCULAR, (61.0, None)),
        ({}, {"pd": 62.0}, PdForm.BINOCULAR, (None, 59.0)),
        ({"pd": 32.0}, {"pd": 31.5}, PdForm.MONOCULAR, (30.5, 30.0)),
        ({"pd": 32.0, "near_pd": 31.0}, {"pd": 31.5}, PdForm.MONOCULAR, (31.0, 30.0)),
        ({}, {}, None, (None, None)),
    ],
)
def test_pd_form_and_near_pd_defaults(
    od: dict[str, float], os: dict[str, float], form: PdForm | None, near: tuple[float, ...]
) -> None:
    rx = Rx(od=eye(0.0, **od), os=eye(0.0, **os))
    assert pd_form(rx) is form
    assert effective_near_pd(rx) == near


@st.composite
def eyes(draw: st.DrawFn) -> EyeRx:
    """Any valid eye on the prescription grid (DOMAIN.md ranges)."""
    sphere = draw(st.integers(-80, 80)) / 4
    cylinder = draw(st.integers(-40, 40)) / 4
    axis = draw(st.integers(1, 180)) if cylinder != 0 else None
    return eye(sphere, cylinder, axis)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(eyes())
def test_transposing_twice_is_identity(lens: EyeRx) -> None:
    assert transpose(transpose(lens)) == lens


@settings(max_examples=300, derandomize=True, deadline=None)
@given(eyes())
def test_transposition_preserves_the_lens(lens: EyeRx) -> None:
    other = transpose(lens)
    assert spherical_equivalent(other) == pytest.approx(spherical_equivalent(lens), abs=1e-9)
    assert set(principal_meridians(other)) == set(principal_meridians(lens))
    assert on_step(other.sphere, 0.25) and on_step(other.cylinder, 0.25)
    if lens.cylinder != 0:
        assert other.axis is not None and 1 <= other.axis <= 180
        assert (other.cylinder > 0) != (lens.cylinder > 0)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(eyes(), eyes())
def test_minus_cylinder_form_has_no_plus_cylinder(od: EyeRx, os: EyeRx) -> None:
    minus = to_minus_cylinder(Rx(od=od, os=os))
    assert minus.od.cylinder <= 0 and minus.os.cylinder <= 0
    assert to_minus_cylinder(to_plus_cylinder(minus)) == minus
