"""Every rule of the order validator, table-driven: each code, limits, just outside, off-step."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from ils.domain.order import OrderDraft
from ils.domain.validation import ERROR_CODES, WARNING_CODES, validate_order
from tests.unit.domain.test_models import API_EXAMPLE

DELETE = object()

SINGLE_VISION: dict[str, Any] = {
    "lab_id": "0b8f6b4e-8d0e-4a57-9b1e-2f0c3a1d9e11",
    "patient_ref": "P-7",
    "due_date": "2026-12-10",
    "rx": {
        "od": {"sphere": -1.00, "cylinder": -0.50, "axis": 180, "pd": 32.0},
        "os": {"sphere": -1.25, "pd": 31.5},
    },
    "lens": {"type": "single_vision", "material": "cr39", "coatings": ["hard"]},
    "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
}
PROGRESSIVE: dict[str, Any] = {
    **SINGLE_VISION,
    "rx": {
        "od": {"sphere": +1.00, "add": 2.00, "pd": 32.0, "seg_height": 18.0},
        "os": {"sphere": +1.25, "cylinder": -0.25, "axis": 90, "add": 2.00, "pd": 31.5,
               "seg_height": 18.0},
    },
    "lens": {"type": "progressive", "material": "1.60", "coatings": ["ar", "hard"]},
}  # fmt: skip
BASES = {"sv": SINGLE_VISION, "pal": PROGRESSIVE}


def build(base: str, changes: dict[str, Any]) -> OrderDraft:
    """The base draft with ``/a/b/c`` paths set (or deleted with DELETE)."""
    body = copy.deepcopy(BASES[base])
    for path, value in changes.items():
        *parents, leaf = path.strip("/").split("/")
        node = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return OrderDraft.model_validate_json(json.dumps(body))


@dataclass(frozen=True)
class Case:
    """Changes to a base draft and the one issue they must raise (code None: no error at all)."""

    name: str
    changes: dict[str, Any]
    code: str | None
    pointer: str = ""
    base: str = "sv"
    kwargs: dict[str, Any] = field(default_factory=dict)


OD = "/rx/od"
E = [
    # sphere -20.00..+20.00 by 0.25
    Case("sphere at +20", {f"{OD}/sphere": 20.0}, None),
    Case("sphere at -20", {f"{OD}/sphere": -20.0}, None),
    Case("sphere above", {f"{OD}/sphere": 20.25}, "sphere-out-of-range", f"{OD}/sphere"),
    Case("sphere below", {f"{OD}/sphere": -20.25}, "sphere-out-of-range", f"{OD}/sphere"),
    Case("sphere off step", {f"{OD}/sphere": -1.13}, "sphere-step", f"{OD}/sphere"),
    Case("sphere eighth", {f"{OD}/sphere": 1.125}, "sphere-step", f"{OD}/sphere"),
    # cylinder -10.00..+10.00 by 0.25, either sign
    Case("cyl at -10", {f"{OD}/cylinder": -10.0}, None),
    Case("cyl at +10", {f"{OD}/cylinder": 10.0}, None),
    Case("cyl above", {f"{OD}/cylinder": 10.25}, "cylinder-out-of-range", f"{OD}/cylinder"),
    Case("cyl off step", {f"{OD}/cylinder": -0.3}, "cylinder-step", f"{OD}/cylinder"),
    # axis 1..180, required iff cylinder != 0
    Case("axis missing", {f"{OD}/axis": DELETE}, "axis-required", f"{OD}/axis"),
    Case("axis at 1", {f"{OD}/axis": 1}, None),
    Case("axis 0 is 180", {f"{OD}/axis": 0}, None),
    Case("axis 181", {f"{OD}/axis": 181}, "axis-out-of-range", f"{OD}/axis"),
    Case("axis negative", {f"{OD}/axis": -5}, "axis-out-of-range", f"{OD}/axis"),
    # add +0.75..+4.00 by 0.25; required for multifocals, refused for single vision
    Case("add on sv", {f"{OD}/add": 2.0}, "add-not-allowed", f"{OD}/add"),
    Case("no add pal", {f"{OD}/add": DELETE}, "add-required", f"{OD}/add", "pal"),
    Case("no add bifocal", {f"{OD}/add": DELETE, "/lens/type": "bifocal"}, "add-required",
         f"{OD}/add", "pal"),
    Case("no add occupational", {f"{OD}/add": DELETE, "/lens/type": "occupational"},
         "add-required", f"{OD}/add", "pal"),
    Case("add at 0.75", {f"{OD}/add": 0.75}, None, base="pal"),
    Case("add at 4", {f"{OD}/add": 4.0}, None, base="pal"),
    Case("add below", {f"{OD}/add": 0.5}, "add-out-of-range", f"{OD}/add", "pal"),
    Case("add above", {f"{OD}/add": 4.25}, "add-out-of-range", f"{OD}/add", "pal"),
    Case("add off step", {f"{OD}/add": 2.1}, "add-step", f"{OD}/add", "pal"),
    # prism 0..15 by 0.25, base iff amount > 0, one horizontal and one vertical per eye
    Case("prism at 15", {f"{OD}/prism": [{"amount": 15, "base": "IN"}]}, None),
    Case("prism above", {f"{OD}/prism": [{"amount": 15.25, "base": "IN"}]},
         "prism-out-of-range", f"{OD}/prism/0/amount"),
    Case("prism negative", {f"{OD}/prism": [{"amount": -1, "base": "IN"}]},
         "prism-out-of-range", f"{OD}/prism/0/amount"),
    Case("prism off step", {f"{OD}/prism": [{"amount": 1.1, "base": "UP"}]}, "prism-step",
         f"{OD}/prism/0/amount"),
    Case("prism no base", {f"{OD}/prism": [{"amount": 1.0}]}, "prism-base-required",
         f"{OD}/prism/0/base"),
    Case("zero prism no base", {f"{OD}/prism": [{"amount": 0}]}, None),
    Case("two horizontal", {f"{OD}/prism": [{"amount": 1, "base": "IN"},
                                            {"amount": 1, "base": "OUT"}]},
         "prism-direction-repeated", f"{OD}/prism/1/base"),
    Case("two vertical", {f"{OD}/prism": [{"amount": 1, "base": "UP"},
                                          {"amount": 0.5, "base": "UP"}]},
         "prism-direction-repeated", f"{OD}/prism/1/base"),
    Case("compound prism", {f"{OD}/prism": [{"amount": 1, "base": "IN"},
                                            {"amount": 0.5, "base": "DOWN"}]}, None),
    # vertex distance 5..25 mm
    Case("vertex at 5", {f"{OD}/vertex_distance": 5.0}, None),
    Case("vertex at 25", {f"{OD}/vertex_distance": 25}, None),
    Case("vertex short", {f"{OD}/vertex_distance": 4.5}, "vertex-distance-out-of-range",
         f"{OD}/vertex_distance"),
    Case("vertex in cm", {f"{OD}/vertex_distance": 1.2}, "vertex-distance-out-of-range",
         f"{OD}/vertex_distance"),
    # distance PD: binocular 50..80 on one eye, monocular 25..40 on both, by 0.5
    Case("no pd", {f"{OD}/pd": DELETE, "/rx/os/pd": DELETE}, "pd-required", f"{OD}/pd"),
    Case("binocular pd", {f"{OD}/pd": 64.0, "/rx/os/pd": DELETE}, None),
    Case("binocular on os", {f"{OD}/pd": DELETE, "/rx/os/pd": 64.0}, None),
    Case("binocular at 50", {f"{OD}/pd": 50, "/rx/os/pd": DELETE}, None),
    Case("binocular at 80", {f"{OD}/pd": 80, "/rx/os/pd": DELETE}, None),
    Case("binocular low", {f"{OD}/pd": 49.5, "/rx/os/pd": DELETE}, "pd-out-of-range",
         f"{OD}/pd"),
    Case("binocular high", {f"{OD}/pd": 80.5, "/rx/os/pd": DELETE}, "pd-out-of-range",
         f"{OD}/pd"),
    Case("binocular off step", {f"{OD}/pd": 64.2, "/rx/os/pd": DELETE}, "pd-step", f"{OD}/pd"),
    Case("half a monocular", {"/rx/os/pd": DELETE}, "pd-required", "/rx/os/pd"),
    Case("monocular at 25", {f"{OD}/pd": 25.0}, None),
    Case("monocular at 40", {f"{OD}/pd": 40.0}, None),
    Case("monocular low", {f"{OD}/pd": 24.5}, "pd-out-of-range", f"{OD}/pd"),
    Case("monocular high", {f"{OD}/pd": 40.5}, "pd-out-of-range", f"{OD}/pd"),
    Case("binocular with monocular", {f"{OD}/pd": 64.0, "/rx/os/pd": 32.0}, "pd-out-of-range",
         f"{OD}/pd"),
    Case("monocular off step", {f"{OD}/pd": 31.7}, "pd-step", f"{OD}/pd"),
    # near PD: same shape as PD, by 0.5, not above the distance PD
    Case("near equals pd", {f"{OD}/near_pd": 32.0}, None),
    Case("near above pd", {f"{OD}/near_pd": 32.5}, "near-pd-exceeds-pd", f"{OD}/near_pd"),
    Case("near off step", {f"{OD}/near_pd": 30.2}, "near-pd-step", f"{OD}/near_pd"),
    Case("near without pd", {"/rx/os/pd": DELETE, f"{OD}/pd": 64.0, "/rx/os/near_pd": 30.0},
         "near-pd-without-pd", "/rx/os/near_pd"),
    # segment / fitting height 10..40 by 0.5, required for bifocal and progressive
    Case("no seg pal", {f"{OD}/seg_height": DELETE}, "seg-height-required", f"{OD}/seg_height",
         "pal"),
    Case("no seg bifocal", {f"{OD}/seg_height": DELETE, "/lens/type": "bifocal"},
         "seg-height-required", f"{OD}/seg_height", "pal"),
    Case("no seg occupational", {f"{OD}/seg_height": DELETE, "/rx/os/seg_height": DELETE,
                                 "/lens/type": "occupational"}, None, base="pal"),
    Case("seg at 10 sv", {f"{OD}/seg_height": 10.0}, None),
    Case("seg below", {f"{OD}/seg_height": 9.5}, "seg-height-out-of-range", f"{OD}/seg_height"),
    Case("seg above", {f"{OD}/seg_height": 40.5, "/frame/a": 62.0, "/frame/b": 45.0,
                       "/frame/ed": 66.0}, "seg-height-out-of-range", f"{OD}/seg_height"),
    Case("seg at 40", {f"{OD}/seg_height": 40.0, "/frame/a": 62.0, "/frame/b": 45.0,
                       "/frame/ed": 66.0}, None),
    Case("seg off step", {f"{OD}/seg_height": 18.2}, "seg-height-step", f"{OD}/seg_height"),
    Case("seg above frame", {f"{OD}/seg_height": 30.5}, "seg-height-exceeds-frame",
         f"{OD}/seg_height"),
    Case("pal seg at default min", {f"{OD}/seg_height": 15.0}, None, base="pal"),
    Case("pal seg below default min", {f"{OD}/seg_height": 14.5},
         "seg-height-below-design-minimum", f"{OD}/seg_height", "pal"),
    Case("pal seg below catalogue min", {f"{OD}/seg_height": 16.5},
         "seg-height-below-design-minimum", f"{OD}/seg_height", "pal",
         {"min_fitting_height": 17.0}),
    Case("pal seg at catalogue min", {f"{OD}/seg_height": 14.0, "/rx/os/seg_height": 14.0},
         None, base="pal", kwargs={"min_fitting_height": 14.0}),
    # progressive frame depth: B >= 28 mm, >= 22 mm for short-corridor designs
    Case("pal b at 28", {"/frame/b": 28.0}, None, base="pal"),
    Case("pal b shallow", {"/frame/b": 27.5}, "frame-too-shallow", "/frame/b", "pal"),
    Case("short design b 22", {"/frame/b": 22.0, "/lens/design": "XR-Short"}, None,
         base="pal"),
    Case("compact design", {"/frame/b": 22.0, "/lens/design": "Compact 2"}, None, base="pal"),
    Case("short design b 21.5", {"/frame/b": 21.5, "/lens/design": "XR-short",
                                 f"{OD}/seg_height": 16.0, "/rx/os/seg_height": 16.0},
         "frame-too-shallow", "/frame/b", "pal"),
    Case("short by argument", {"/frame/b": 24.0}, None, base="pal",
         kwargs={"short_corridor": True}),
    Case("argument overrides design", {"/frame/b": 24.0, "/lens/design": "short"},
         "frame-too-shallow", "/frame/b", "pal", {"short_corridor": False}),
    Case("sv shallow frame", {"/frame/b": 20.0}, None),
    # frame sanity
    Case("no frame a", {"/frame/a": DELETE}, "frame-measurement-required", "/frame/a"),
    Case("no frame b", {"/frame/b": DELETE}, "frame-measurement-required", "/frame/b"),
    Case("no frame dbl", {"/frame/dbl": DELETE}, "frame-measurement-required", "/frame/dbl"),
    Case("no frame ed", {"/frame/ed": DELETE}, None),
    Case("a at 30", {"/frame/a": 30.0, "/frame/b": 25.0, "/frame/ed": 33.0}, None),
    Case("a small", {"/frame/a": 29.5, "/frame/b": 25.0, "/frame/ed": 33.0},
         "frame-a-out-of-range", "/frame/a"),
    Case("a large", {"/frame/a": 75.5, "/frame/ed": 80.0}, "frame-a-out-of-range", "/frame/a"),
    Case("b small", {"/frame/b": 14.5}, "frame-b-out-of-range", "/frame/b"),
    Case("dbl small", {"/frame/dbl": 9.5}, "frame-dbl-out-of-range", "/frame/dbl"),
    Case("dbl at 30", {"/frame/dbl": 30.0}, None),
    Case("dbl large", {"/frame/dbl": 30.5}, "frame-dbl-out-of-range", "/frame/dbl"),
    Case("ed large", {"/frame/ed": 85.5}, "frame-ed-out-of-range", "/frame/ed"),
    Case("b above a", {"/frame/a": 40.0, "/frame/b": 40.5, "/frame/ed": 50.0},
         "frame-b-exceeds-a", "/frame/b"),
    Case("b equals a", {"/frame/a": 40.0, "/frame/b": 40.0, "/frame/ed": 50.0}, None),
    Case("ed below a", {"/frame/ed": 51.5}, "frame-ed-below-a", "/frame/ed"),
    Case("ed equals a", {"/frame/ed": 52.0}, None),
    # lens
    Case("coating twice", {"/lens/coatings": ["hard", "uv", "hard"]}, "coating-duplicate",
         "/lens/coatings/2"),
    # due date against an injected today
    Case("due date past", {}, "due-date-past", "/due_date",
         kwargs={"today": date(2026, 12, 11)}),
    Case("due today", {}, None, kwargs={"today": date(2026, 12, 10)}),
]  # fmt: skip

W = [
    Case("axis no cyl", {"/rx/os/axis": 90}, "axis-without-cylinder", "/rx/os/axis"),
    Case("base zero prism", {f"{OD}/prism": [{"amount": 0, "base": "UP"}]},
         "prism-base-without-amount", f"{OD}/prism/0/base"),
    Case("in and out", {f"{OD}/prism": [{"amount": 1, "base": "IN"}],
                        "/rx/os/prism": [{"amount": 1, "base": "OUT"}]},
         "prism-split-cancels", "/rx/os/prism/0/base"),
    Case("up and up", {f"{OD}/prism": [{"amount": 1, "base": "UP"}],
                       "/rx/os/prism": [{"amount": 2, "base": "IN"}, {"amount": 1, "base": "UP"}]},
         "prism-split-cancels", "/rx/os/prism/1/base"),
    Case("vertex missing sphere", {f"{OD}/sphere": -4.25}, "vertex-distance-missing",
         f"{OD}/vertex_distance"),
    Case("vertex missing meridian", {"/rx/os/sphere": 2.0, "/rx/os/cylinder": 2.25,
                                     "/rx/os/axis": 90},
         "vertex-distance-missing", "/rx/os/vertex_distance"),
    Case("anisometropia", {"/rx/os/sphere": 2.50}, "anisometropia", "/rx"),
    Case("binocular pd pal", {f"{OD}/pd": 64.0, "/rx/os/pd": DELETE},
         "monocular-pd-preferred", f"{OD}/pd", "pal"),
    Case("near pd too close", {f"{OD}/near_pd": 28.0}, "near-pd-unusual", f"{OD}/near_pd"),
    Case("cr39 high power", {"/rx/os/sphere": -4.25, "/rx/os/vertex_distance": 12.0},
         "high-index-recommended", "/lens/material"),
    Case("1.67 no ar", {"/lens/material": "1.67", "/lens/coatings": ["hard"]},
         "ar-recommended", "/lens/coatings"),
    Case("rimless cr39", {"/frame/type": "rimless"}, "rimless-material", "/lens/material"),
    Case("semi-rimless cr39", {"/frame/type": "semi_rimless"}, "rimless-material",
         "/lens/material"),
]  # fmt: skip

QUIET = [
    Case("vertex not needed at 4", {f"{OD}/sphere": -3.5, f"{OD}/cylinder": -0.5}, None),
    Case("anisometropia at 3", {"/rx/os/sphere": 1.75}, None),
    Case("in and in", {f"{OD}/prism": [{"amount": 1, "base": "IN"}],
                       "/rx/os/prism": [{"amount": 1, "base": "IN"}]}, None),
    Case("up and down", {f"{OD}/prism": [{"amount": 1, "base": "UP"}],
                         "/rx/os/prism": [{"amount": 1, "base": "DOWN"}]}, None),
    Case("binocular pd sv", {f"{OD}/pd": 64.0, "/rx/os/pd": DELETE}, None),
    Case("near pd 3 below", {f"{OD}/near_pd": 29.0}, None),
    Case("rimless polycarbonate", {"/frame/type": "rimless", "/lens/material": "polycarbonate"},
         None),
    Case("rimless trivex", {"/frame/type": "semi_rimless", "/lens/material": "trivex"}, None),
    Case("1.67 with ar", {"/lens/material": "1.67", "/lens/coatings": ["ar"]}, None),
    Case("1.56 no ar", {"/lens/material": "1.56"}, None),
    Case("high power in high index", {f"{OD}/sphere": -5.75, f"{OD}/vertex_distance": 12.0,
                                      "/rx/os/sphere": -6.0, "/rx/os/vertex_distance": 12.0,
                                      "/lens/material": "1.67", "/lens/coatings": ["ar"]}, None),
]  # fmt: skip


def _issues(case: Case) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    result = validate_order(build(case.base, case.changes), **case.kwargs)
    assert result.valid == (not result.errors)
    return (
        [(i.pointer, i.code) for i in result.errors],
        [(i.pointer, i.code) for i in result.warnings],
    )


@pytest.mark.parametrize("base", sorted(BASES))
def test_base_drafts_are_clean(base: str) -> None:
    assert _issues(Case("base", {}, None, base=base)) == ([], [])


def test_api_example_is_valid_without_warnings() -> None:
    result = validate_order(OrderDraft.model_validate(API_EXAMPLE))
    assert result.as_dict() == {"valid": True, "errors": [], "warnings": []}


@pytest.mark.parametrize("case", E, ids=[c.name for c in E])
def test_error_rules(case: Case) -> None:
    errors, _ = _issues(case)
    if case.code is None:
        assert errors == []
    else:
        assert errors == [(case.pointer, case.code)]


@pytest.mark.parametrize("case", W, ids=[c.name for c in W])
def test_warning_rules(case: Case) -> None:
    errors, warnings = _issues(case)
    assert errors == []
    assert (case.pointer, case.code) in warnings


@pytest.mark.parametrize("case", QUIET, ids=[c.name for c in QUIET])
def test_no_warning_when_not_warranted(case: Case) -> None:
    assert _issues(case) == ([], [])


def test_every_code_is_exercised() -> None:
    assert {c.code for c in E if c.code} == ERROR_CODES
    assert {c.code for c in W} == WARNING_CODES


def test_binocular_pd_repeated_on_both_eyes_is_refused_on_both() -> None:
    errors, _ = _issues(Case("twice", {f"{OD}/pd": 64.0, "/rx/os/pd": 64.0}, None))
    assert errors == [(f"{OD}/pd", "pd-out-of-range"), ("/rx/os/pd", "pd-out-of-range")]


def test_errors_refuse_and_report_as_api_shape() -> None:
    result = validate_order(build("sv", {f"{OD}/axis": DELETE, "/rx/os/sphere": 2.5}))
    body = result.as_dict()
    assert body["valid"] is False
    assert body["errors"] == [
        {"pointer": "/rx/od/axis", "code": "axis-required", "detail": result.errors[0].detail}
    ]
    assert [w["code"] for w in body["warnings"]] == ["anisometropia"]  # type: ignore[union-attr]


def test_validation_is_pure_and_repeatable() -> None:
    draft = build("pal", {f"{OD}/sphere": 25.0, "/frame/b": 20.0})
    assert validate_order(draft) == validate_order(draft)
