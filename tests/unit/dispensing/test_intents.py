"""Intent extraction: triggers, negation, uncertainty, other people, misspellings, evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ils.analytics.dispensing.evaluation import LabelledNote, evaluate, predict
from ils.analytics.dispensing.intents import (
    driving_tags,
    extract_intents,
    label_set,
    structured_intents,
)
from ils.analytics.dispensing.lexicon import INTENT_TAGS
from ils.analytics.dispensing.notes import read_note

NOTES = Path(__file__).parents[2] / "data" / "clinical_notes.jsonl"


def labels(text: str) -> set[tuple[str, bool]]:
    return label_set(extract_intents(read_note(text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Works on a computer all day.", {("screen_work", False)}),
        ("No night driving.", {("night_driving", True)}),
        ("Denies headaches but reads a lot.",
         {("eye_strain_headache", True), ("near_work", False)}),
        ("Her husband is a keen cyclist.", {("outdoor_sport", True)}),
        ("Wife reports he gets headaches.", {("eye_strain_headache", False)}),
        ("Does not want thick lenses.", {("cosmetic_thickness", False)}),
        ("Does not want a premium lens.", {("premium_preference", True)}),
        ("Price is not a concern.", {("budget_sensitive", True)}),
        ("Computr use all day, eye strian by evening.",
         {("screen_work", False), ("eye_strain_headache", False)}),
        ("Enjoys diving.", {("swimming_water_sports", False)}),
        ("Wants semi rimless, not rimless.", {("rimless_frame", True)}),
        ("Tried varifocals 2 yrs ago but could not adapt.", {("previous_non_adapt", False)}),
        ("9 year old boy.", {("child_wearer", False)}),
        ("45 yo office worker.", set()),
    ],
)  # fmt: skip
def test_labels_of_classic_phrasings(text: str, expected: set[tuple[str, bool]]) -> None:
    assert labels(text) == expected


def test_evidence_is_the_exact_substring_at_its_offsets() -> None:
    text = "Pt drives at night. Hates glare from oncoming headlights!"
    for intent in extract_intents(read_note(text)):
        assert intent.start is not None and intent.end is not None
        assert text[intent.start : intent.end] == intent.evidence


def test_uncertain_mentions_are_flagged_and_still_drive() -> None:
    found = extract_intents(read_note("Might take up cycling?"))
    assert [(i.tag, i.uncertain, i.drives) for i in found] == [("outdoor_sport", True, True)]


def test_negated_and_other_person_mentions_never_drive() -> None:
    found = extract_intents(read_note("No sport. Her son swims daily."))
    assert found and driving_tags(found) == {}


def test_structured_fields_give_child_rimless_and_occupation_intents() -> None:
    found = structured_intents(9, "rimless", "truck driver")
    assert {(i.tag, i.source) for i in found} == {
        ("child_wearer", "patient.age"),
        ("rimless_frame", "frame.type"),
        ("driving_for_work", "patient.occupation"),
    }
    assert structured_intents(40, "full_rim", None) == []


def _labelled() -> list[LabelledNote]:
    rows = [json.loads(line) for line in NOTES.read_text().splitlines() if line.strip()]
    return [
        LabelledNote(r["id"], r["split"], r["text"], frozenset((t, n) for t, n in r["labels"]))
        for r in rows
    ]


def test_labelled_set_is_large_split_and_uses_api_tags() -> None:
    notes = _labelled()
    assert len(notes) >= 150
    assert {n.split for n in notes} == {"dev", "heldout"}
    assert len({n.id for n in notes}) == len(notes)
    assert {t for n in notes for t, _ in n.labels} <= set(INTENT_TAGS)


def test_development_notes_reach_the_micro_f1_goal() -> None:
    dev = [n for n in _labelled() if n.split == "dev"]
    micro, per = evaluate([n.labels for n in dev], predict(dev))
    assert micro.f1 >= 0.9
    assert set(per) <= set(INTENT_TAGS)


def test_evaluation_counts_a_wrong_polarity_as_two_errors() -> None:
    micro, per = evaluate([frozenset({("night_driving", True)})], [{("night_driving", False)}])
    assert (micro.precision, micro.recall) == (0.0, 0.0)
    assert per["night_driving"].support == 1
