"""Clinical notes as tokens and sentences, and the checks that refuse what cannot be read.

A regular expression tokenizer is enough for short English clinical notes and keeps exact
character offsets for the evidence spans (a general NLP pipeline such as spaCy would need a
downloaded model, which this service cannot fetch at run time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ils.errors import FieldIssue, ValidationFailed

MAX_NOTE_CHARS: Final = 10_000

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+(?:['’][^\W\d_]+)*|[?;,.!:()/+]")
_SENTENCE_END: Final = frozenset({".", "!", "?"})

# Frequent function words: English ones, and those of the languages practices most often write in.
_ENGLISH: Final = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "is",
        "are",
        "was",
        "has",
        "have",
        "he",
        "she",
        "his",
        "her",
        "it",
        "not",
        "no",
        "but",
        "from",
        "by",
        "as",
        "this",
        "that",
        "be",
        "does",
        "do",
        "very",
    ]
)
_FOREIGN: Final = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "del",
        "que",
        "y",
        "por",
        "para",
        "con",
        "una",
        "uno",
        "es",
        "le",
        "les",
        "des",
        "du",
        "et",
        "est",
        "pour",
        "avec",
        "une",
        "dans",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "mit",
        "nicht",
        "ein",
        "eine",
        "für",
        "auf",
        "il",
        "di",
        "che",
        "per",
        "non",
        "sono",
        "het",
        "een",
        "van",
        "en",
        "niet",
        "och",
        "att",
        "är",
        "inte",
        "não",
        "com",
        "uma",
        "dos",
    ]
)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class NoteReading:
    """A note split into sentences of tokens, with what could not be read said plainly."""

    text: str
    sentences: tuple[tuple[Token, ...], ...]
    language_supported: bool
    warnings: tuple[str, ...]


def tokenize(text: str) -> list[Token]:
    return [
        Token(m.group(0).lower().replace("’", "'"), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


def split_sentences(text: str, tokens: list[Token]) -> list[tuple[Token, ...]]:
    sentences: list[tuple[Token, ...]] = []
    current: list[Token] = []
    for i, token in enumerate(tokens):
        if current and "\n" in text[current[-1].end : token.start]:
            sentences.append(tuple(current))
            current = []
        current.append(token)
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if token.text in _SENTENCE_END and nxt not in _SENTENCE_END:
            sentences.append(tuple(current))
            current = []
    if current:
        sentences.append(tuple(current))
    return sentences


def language_supported(tokens: list[Token]) -> bool:
    """English or not: non-Latin script, or clearly more foreign than English function words."""
    words = [t.text for t in tokens if t.text.isalpha()]
    if not words:
        return True
    latin = sum(1 for w in words if w.isascii() or all(c < "ɏ" for c in w))
    if latin / len(words) < 0.7:
        return False
    english = sum(1 for w in words if w in _ENGLISH)
    foreign = sum(1 for w in words if w in _FOREIGN and w not in _ENGLISH)
    return not (foreign >= 2 and foreign > english)


def read_note(text: str | None) -> NoteReading:
    """Tokenize a note; refuse one that is too long; flag an empty or non-English one."""
    text = text or ""
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationFailed(
            [
                FieldIssue(
                    "/clinical_notes",
                    "notes-too-long",
                    f"clinical notes are limited to {MAX_NOTE_CHARS} characters, got {len(text)}",
                )
            ]
        )
    tokens = tokenize(text)
    if not tokens:
        return NoteReading(text, (), True, ("no clinical notes: intents come from the Rx only",))
    if not language_supported(tokens):
        warning = "clinical notes are not in English: they were not interpreted"
        return NoteReading(text, (), False, (warning,))
    return NoteReading(text, tuple(split_sentences(text, tokens)), True, ())
