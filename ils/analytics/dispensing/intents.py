"""Clinical intents from free-text notes and from the structured order.

Pipeline: tokenize and split sentences (``notes``), find trigger phrases of the lexicon with
tolerance to one typing error on longer words, keep the longest non-overlapping matches, then
judge each match's context (``negation``). Every intent carries its evidence: the exact substring
of the note and its character offsets, or the structured field it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ils.analytics.dispensing.lexicon import (
    AVERSIVE,
    AVERSIVE_PHRASES,
    EXCLUSIONS,
    INTENT_TAGS,
    TRIGGERS,
)
from ils.analytics.dispensing.negation import trigger_context
from ils.analytics.dispensing.notes import NoteReading, Token, read_note

FUZZY_MIN_PATTERN: Final = 5  # shorter words must be spelt exactly ("nite" is in the lexicon)
FUZZY_MIN_TOKEN: Final = 5
GAP: Final = 3
CHILD_AGE: Final = 16

_NUMBER_WORDS: Final = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_AGE: Final = re.compile(
    r"\b(?:aged?\s+(\d{1,2})\b|(\d{1,2}|[a-z]+)[\s-]*(?:(?:years?|yrs?)[\s-]*old|y/?o)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Intent:
    """One mention of an intent. ``source`` is "notes" or the structured field it came from."""

    tag: str
    evidence: str
    start: int | None
    end: int | None
    negated: bool
    uncertain: bool
    experiencer: str
    source: str = "notes"

    @property
    def drives(self) -> bool:
        """Whether it may drive a recommendation: affirmed, and about the patient."""
        return not self.negated and self.experiencer == "patient"

    def as_api(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "evidence": self.evidence,
            "negated": not self.drives,
            "uncertain": self.uncertain,
            "experiencer": self.experiencer,
            "span": None if self.start is None else [self.start, self.end],
        }


@dataclass(frozen=True)
class _Phrase:
    tag: str | None  # None: an exclusion
    parts: tuple[tuple[str, ...] | None, ...]  # None: a gap
    aversive: bool


def _parse(phrase: str, tag: str | None, aversive: bool) -> _Phrase:
    parts = tuple(None if p == "~" else tuple(p.split("|")) for p in phrase.split())
    return _Phrase(tag, parts, aversive)


def _compile() -> tuple[_Phrase, ...]:
    phrases = [_parse(p, None, False) for p in EXCLUSIONS]
    for tag, triggers in TRIGGERS.items():
        averse = set(AVERSIVE_PHRASES.get(tag, ()))
        phrases += [_parse(p, tag, tag in AVERSIVE or p in averse) for p in triggers]
    return tuple(phrases)


PHRASES: Final = _compile()
_PATTERNS: Final = frozenset(a for ph in PHRASES for part in ph.parts if part for a in part)
_EXACT: Final = tuple(sorted(p for p in _PATTERNS if not p.endswith("*")))
_FUZZY: Final = tuple(p for p in _EXACT if len(p) >= FUZZY_MIN_PATTERN)
_STEMS: Final = tuple(sorted(p[:-1] for p in _PATTERNS if p.endswith("*")))
_FUZZY_BY_INITIAL: Final = {
    c: tuple(p for p in _FUZZY if p[0] == c) for c in {p[0] for p in _FUZZY}
}


@lru_cache(maxsize=4096)
def word_patterns(word: str) -> frozenset[str]:
    """Lexicon patterns a note word matches: exactly, by stem, or within one typing error.

    A word that is itself in the lexicon is taken as spelt ("diving" never reads as "driving").
    """
    found = {word} if word in _PATTERNS else set()
    found.update(s + "*" for s in _STEMS if word.startswith(s))
    if found or len(word) < FUZZY_MIN_TOKEN or not word.isalpha():
        return frozenset(found)
    # Typing errors rarely touch the first letter; requiring it keeps "river" from "driver".
    for match, _, _ in process.extract(
        word, _FUZZY_BY_INITIAL.get(word[0], ()), scorer=OSA.distance, score_cutoff=1, limit=None
    ):
        found.add(match)
    for stem in _STEMS:
        if (
            len(stem) >= FUZZY_MIN_PATTERN
            and stem[0] == word[0]
            and any(
                OSA.distance(word[:k], stem) <= 1 for k in (len(stem) - 1, len(stem), len(stem) + 1)
            )
        ):
            found.add(stem + "*")
    return frozenset(found)


def _match_at(phrase: _Phrase, sets: Sequence[frozenset[str]], i: int) -> int | None:
    """End index of ``phrase`` matched from token ``i``, or None."""
    pos = i
    parts = phrase.parts
    for k, part in enumerate(parts):
        if part is None:
            nxt = parts[k + 1]
            assert nxt is not None
            for skip in range(GAP + 1):
                if pos + skip < len(sets) and not sets[pos + skip].isdisjoint(nxt):
                    pos += skip
                    break
            else:
                return None
            continue
        if pos >= len(sets) or sets[pos].isdisjoint(part):
            return None
        pos += 1
    return pos


def _matches(sets: Sequence[frozenset[str]]) -> list[tuple[int, int, _Phrase]]:
    """Longest non-overlapping phrase matches in one sentence."""
    found = []
    for i, patterns in enumerate(sets):
        if not patterns:
            continue
        for phrase in PHRASES:
            first = phrase.parts[0]
            if first is not None and not patterns.isdisjoint(first):
                end = _match_at(phrase, sets, i)
                if end is not None:
                    found.append((i, end, phrase))
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
    taken: set[int] = set()
    kept = []
    for start, end, phrase in found:
        if taken.isdisjoint(range(start, end)):
            taken.update(range(start, end))
            kept.append((start, end, phrase))
    return sorted(kept, key=lambda m: m[0])


def _sentence_intents(text: str, sentence: tuple[Token, ...]) -> list[Intent]:
    words = [t.text for t in sentence]
    sets = [word_patterns(w) for w in words]
    intents = []
    for start, end, phrase in _matches(sets):
        if phrase.tag is None:
            continue
        ctx = trigger_context(words, start, end, phrase.aversive)
        a, b = sentence[start].start, sentence[end - 1].end
        intents.append(
            Intent(phrase.tag, text[a:b], a, b, ctx.negated, ctx.uncertain, ctx.experiencer)
        )
    return intents + _age_intents(text, sentence, words)


def _age_intents(text: str, sentence: tuple[Token, ...], words: list[str]) -> list[Intent]:
    if not sentence:
        return []
    lo, hi = sentence[0].start, sentence[-1].end
    intents = []
    for m in _AGE.finditer(text, lo, hi):
        raw = (m.group(1) or m.group(2)).lower()
        age = int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw)
        if age is None or age >= CHILD_AGE:
            continue
        first = next(i for i, t in enumerate(sentence) if t.end > m.start())
        last = max(i for i, t in enumerate(sentence) if t.start < m.end()) + 1
        ctx = trigger_context(words, first, last)
        intents.append(
            Intent(
                "child_wearer",
                m.group(0),
                m.start(),
                m.end(),
                ctx.negated,
                ctx.uncertain,
                ctx.experiencer,
            )
        )
    return intents


def extract_intents(reading: NoteReading) -> list[Intent]:
    """Every intent mention in the note, in note order."""
    found: list[Intent] = []
    for sentence in reading.sentences:
        found.extend(_sentence_intents(reading.text, sentence))
    return sorted(found, key=lambda i: (i.start or 0, i.tag))


def label_set(intents: Iterable[Intent]) -> set[tuple[str, bool]]:
    """The (tag, negated) pairs of a list of mentions, as the labelled notes record them."""
    return {(i.tag, not i.drives) for i in intents}


def driving_tags(intents: Iterable[Intent]) -> dict[str, Intent]:
    """Tag -> the first mention that may drive a recommendation (certain ones before uncertain)."""
    out: dict[str, Intent] = {}
    for intent in sorted(intents, key=lambda i: i.uncertain):
        if intent.drives and intent.tag not in out:
            out[intent.tag] = intent
    return out


def summarise(intents: Iterable[Intent]) -> list[Intent]:
    """One mention per (tag, negated), the first in the note, for the API answer."""
    seen: set[tuple[str, bool]] = set()
    out = []
    for intent in intents:
        key = (intent.tag, not intent.drives)
        if key not in seen:
            seen.add(key)
            out.append(intent)
    return out


def structured_intents(
    age: int | None, frame_type: str | None, occupation: str | None
) -> list[Intent]:
    """Intents that the order's structured fields establish (or the occupation text names)."""
    found = []
    if age is not None and age < CHILD_AGE:
        found.append(
            Intent("child_wearer", f"age {age}", None, None, False, False, "patient", "patient.age")
        )
    if frame_type == "rimless":
        found.append(
            Intent("rimless_frame", "rimless", None, None, False, False, "patient", "frame.type")
        )
    if occupation:
        reading = read_note(occupation[:200])
        found.extend(replace(i, source="patient.occupation") for i in extract_intents(reading))
    return found


assert set(TRIGGERS) == set(INTENT_TAGS), "every API tag needs triggers"
