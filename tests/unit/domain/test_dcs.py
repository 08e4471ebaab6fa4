"""VCA DCS records: parse, format, and a round-trip property over every Rx field ILS stores."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ils.domain.dcs import DcsError, format_order, order_body, parse_records
from ils.domain.lens import Coating, FrameType, LensType, Material
from ils.domain.order import OrderDraft

LAB = str(uuid.UUID(int=1))
PRACTICE = str(uuid.UUID(int=2))


def grid(low: float, high: float, step: float) -> st.SearchStrategy[float]:
    return st.integers(round(low / step), round(high / step)).map(lambda n: n * step + 0.0)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def eyes(draw: st.DrawFn) -> dict[str, Any]:
    eye: dict[str, Any] = {
        "sphere": draw(grid(-20, 20, 0.25)),
        "cylinder": draw(grid(-10, 10, 0.25)),
        "axis": draw(maybe(st.integers(1, 180))),
        "add": draw(maybe(grid(0.75, 4, 0.25))),
        "pd": draw(maybe(grid(25, 40, 0.5))),
        "near_pd": draw(maybe(grid(23, 40, 0.5))),
        "seg_height": draw(maybe(grid(10, 40, 0.5))),
        "vertex_distance": draw(maybe(grid(8, 20, 0.5))),
    }
    prism = []
    if draw(st.booleans()):
        prism.append(
            {"amount": draw(grid(0.25, 15, 0.25)), "base": draw(st.sampled_from(["IN", "OUT"]))}
        )
    if draw(st.booleans()):
        prism.append(
            {"amount": draw(grid(0.25, 15, 0.25)), "base": draw(st.sampled_from(["UP", "DOWN"]))}
        )
    eye["prism"] = prism
    return eye


@st.composite
def drafts(draw: st.DrawFn) -> OrderDraft:
    text = (
        st.text(
            st.characters(min_codepoint=32, max_codepoint=126, exclude_characters=";="),
            min_size=1,
            max_size=20,
        )
        .map(str.strip)
        .filter(bool)
    )
    body = {
        "lab_id": LAB,
        "patient_ref": draw(text),
        "due_date": draw(st.dates(date(2026, 1, 1), date(2028, 12, 31))).isoformat(),
        "priority": draw(st.sampled_from(["standard", "rush"])),
        "rx": {"od": draw(eyes()), "os": draw(eyes())},
        "lens": {
            "type": draw(st.sampled_from(list(LensType))).value,
            "material": draw(st.sampled_from(list(Material))).value,
            "coatings": [
                c.value
                for c in draw(st.lists(st.sampled_from(list(Coating)), unique=True, max_size=4))
            ],
            "design": draw(maybe(text)),
        },
        "frame": {
            "type": draw(st.sampled_from(list(FrameType))).value,
            "a": draw(maybe(grid(40, 70, 0.5))),
            "b": draw(maybe(grid(20, 60, 0.5))),
            "dbl": draw(maybe(grid(12, 26, 0.5))),
            "ed": draw(maybe(grid(40, 75, 0.5))),
        },
        "clinical_notes": draw(maybe(st.text(max_size=80))),
    }
    return OrderDraft.model_validate(body)


def back(text: str) -> OrderDraft:
    (record,) = parse_records(text)
    body = order_body(record)
    assert body.pop("practice_id") == PRACTICE
    return OrderDraft.model_validate({**body, "lab_id": LAB})


@settings(max_examples=150, deadline=None, derandomize=True)
@given(drafts())
def test_every_rx_field_round_trips(draft: OrderDraft) -> None:
    order = {**draft.model_dump(mode="json"), "practice_id": PRACTICE, "order_number": "PO-1"}
    assert back(format_order(order)) == draft


def test_a_record_reads_as_labels_sides_and_prism_components() -> None:
    text = (
        "JOB=J-88121\r\nDO=B\r\nSPH=-2.25;-2.00\r\nCYL=-0.75;-0.50\r\nAX=180;175\r\n"
        "ADD=2.00;2.00\r\nPRVM=1.00;\r\nPRVA=0;\r\nIPD=31.50;32.00\r\nSEGHT=18.00;18.00\r\n"
        "LTYPE=PR;PR\r\nLIND=1.60;1.60\r\nLNAM=AVANTI;AVANTI\r\nHBOX=52.00;52.00\r\n"
        "VBOX=30.00;30.00\r\nDBL=18.00\r\nFED=56.00\r\nTRCFMT=1;400;U;R;F\r\nR=2345;2350\r\n"
        f"_PRACTICE={PRACTICE}\r\n"
    )
    (record,) = parse_records(text)
    body = order_body(record)
    od, os_ = body["rx"]["od"], body["rx"]["os"]
    assert od["prism"] == [{"amount": 1.0, "base": "IN"}] and "prism" not in os_
    assert (od["sphere"], od["cylinder"], od["axis"], od["add"]) == (-2.25, -0.75, 180, 2.0)
    assert (os_["pd"], os_["seg_height"]) == (32.0, 18.0)
    assert body["lens"] == {
        "type": "progressive",
        "material": "1.60",
        "coatings": [],
        "design": "AVANTI",
    }
    assert body["frame"] == {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0}
    assert body["patient_ref"] == "J-88121"


def test_prism_angle_follows_the_eye() -> None:
    # 0 degrees seen facing the patient points to the right eye's nose side: base IN on OD and
    # base OUT on OS; 270 is base DOWN on either eye.
    text = "DO=B\nSPH=0;0\nPRVM=2;2\nPRVA=0;270\nLTYPE=SV;SV\nLIND=1.50;1.50\n"
    body = order_body(parse_records(text)[0])
    assert body["rx"]["od"]["prism"] == [{"amount": 2.0, "base": "IN"}]
    assert body["rx"]["os"]["prism"] == [{"amount": 2.0, "base": "DOWN"}]
    text = "DO=B\nSPH=0;0\nPRVM=;2\nPRVA=;0\nLTYPE=SV;SV\nLIND=1.50;1.50\n"
    assert order_body(parse_records(text)[0])["rx"]["os"]["prism"] == [
        {"amount": 2.0, "base": "OUT"}
    ]


def test_each_job_line_starts_a_record() -> None:
    one = "JOB=A\nDO=B\nSPH=1;1\nLTYPE=SV;SV\nLIND=1.50;1.50\n"
    records = parse_records(one + one.replace("JOB=A", "JOB=B"))
    assert [r["JOB"] for r in records] == ["A", "B"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("DO=B\nSPH=abc;1\nLTYPE=SV;SV\nLIND=1.50;1.50\n", "SPH"),
        ("DO=B\nSPH=-1.00\nLTYPE=SV;SV\nLIND=1.50;1.50\n", "SPH"),
        ("DO=B\nSPH=1;1\nAX=90.5;90\nLTYPE=SV;SV\nLIND=1.50;1.50\n", "AX"),
        ("DO=R\nSPH=1;1\nLTYPE=SV;SV\nLIND=1.50;1.50\n", "DO"),
        ("DO=B\nSPH=1;1\nLTYPE=XX;XX\nLIND=1.50;1.50\n", "LTYPE"),
        ("DO=B\nSPH=1;1\nLTYPE=SV;SV\nLIND=1.61;1.61\n", "LIND"),
        ("DO=B\nSPH=;1\nLTYPE=SV;SV\nLIND=1.50;1.50\n", "SPH"),
    ],
)
def test_unreadable_values_name_their_label(text: str, label: str) -> None:
    with pytest.raises(DcsError) as caught:
        order_body(parse_records(text)[0])
    assert caught.value.label == label


def test_lines_that_are_not_label_value_are_refused() -> None:
    with pytest.raises(DcsError):
        parse_records("DO=B\nthis is not dcs\n")
    with pytest.raises(DcsError):
        parse_records("\n\n")
    with pytest.raises(DcsError):
        parse_records("SPH=1;1\nSPH=2;2\n")
