"""Reading notes: empty, too long, other languages."""

from __future__ import annotations

import pytest

from ils.analytics.dispensing.notes import MAX_NOTE_CHARS, read_note, split_sentences, tokenize
from ils.errors import ValidationFailed


def test_empty_note_reads_with_a_warning() -> None:
    reading = read_note("   ")
    assert reading.sentences == () and reading.warnings


def test_over_long_note_is_refused_with_a_pointer() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_note("a" * (MAX_NOTE_CHARS + 1))
    assert caught.value.issues[0].pointer == "/clinical_notes"


@pytest.mark.parametrize(
    "text",
    [
        "El paciente trabaja con la computadora todo el día y tiene dolor de cabeza.",
        "Der Patient fährt nachts mit dem Auto und ist nicht blendempfindlich.",
        "Пациент работает за компьютером весь день.",
    ],
)
def test_other_languages_are_not_interpreted(text: str) -> None:
    reading = read_note(text)
    assert not reading.language_supported and reading.sentences == ()
    assert "not in English" in reading.warnings[0]


def test_telegraphic_english_is_supported() -> None:
    assert read_note("Water polo player.").language_supported


def test_sentences_split_on_stops_and_new_lines_but_not_decimals() -> None:
    text = "Rx -6.00 OU. Reads a lot\nNo sport?"
    sentences = split_sentences(text, tokenize(text))
    assert [[t.text for t in s] for s in sentences] == [
        ["rx", "6.00", "ou", "."],
        ["reads", "a", "lot"],
        ["no", "sport", "?"],
    ]
