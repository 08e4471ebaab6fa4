"""NegEx/ConText-style context of a trigger: negated, uncertain, and whose need it is.

Follows Chapman et al., "A simple algorithm for identifying negated findings and diseases in
discharge summaries" (NegEx, 2001) and Harkema et al., "ConText" (2009): cue phrases before or
after the trigger, with a scope that stops at a clause boundary ("but", ";", ",") or a window of
a few tokens. Written here because the maintained Python ports (negspacy, medspacy) need a spaCy
pipeline and model, and the cue lists below are specific to dispensing notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

PRE_WINDOW: Final = 6
POST_WINDOW: Final = 5

_DENY: Final = (
    "no", "not", "never", "denies", "denied", "deny", "without", "doesn't", "doesnt", "don't",
    "dont", "didn't", "didnt", "isn't", "isnt", "wasn't", "hasn't", "nor", "neither", "none",
    "free of", "negative for", "no longer", "declines", "declined", "rules out", "absence of",
    "avoid", "avoids", "avoiding", "nil",
)  # fmt: skip
# Cues of aversion: they deny a plain trigger but affirm an aversive one ("no thick lenses").
_AVERSE: Final = (
    "doesn't want", "does not want", "don't want", "do not want", "doesnt want", "dont want",
    "not keen on", "hates", "hate", "dislikes", "reluctant", "no more", "avoid", "avoids",
    "would rather not", "not want",
)  # fmt: skip
_POST_DENY: Final = (
    "not an issue", "not a problem", "not a concern", "not reported", "resolved", "ruled out",
    "not needed", "not required", "absent", "not bothered", "is fine", "are fine",
)  # fmt: skip
_UNCERTAIN: Final = (
    "possibly", "maybe", "might", "may", "perhaps", "unsure", "not sure", "query",
    "?", "thinking about", "considering", "unclear", "wonders", "probably", "uncertain",
)  # fmt: skip
_PSEUDO: Final = ("not only", "not just", "no change", "no doubt", "not sure")
_TERMINATORS: Final = frozenset(
    [
        "but",
        "however",
        "although",
        "though",
        "except",
        "yet",
        "whereas",
        "while",
        "apart",
        "aside",
        "due",
        "because",
        ";",
        ",",
        ":",
    ]
)
_RELATIONS: Final = frozenset(
    [
        "husband",
        "wife",
        "son",
        "sons",
        "daughter",
        "daughters",
        "mother",
        "father",
        "mum",
        "mom",
        "dad",
        "parent",
        "parents",
        "partner",
        "brother",
        "sister",
        "friend",
        "friends",
        "colleague",
        "colleagues",
        "grandson",
        "granddaughter",
        "grandchild",
        "grandchildren",
        "boyfriend",
        "girlfriend",
        "spouse",
        "uncle",
        "aunt",
        "cousin",
        "nephew",
        "niece",
        "family",
    ]
)
_REPORTING: Final = frozenset(
    [
        "reports",
        "reported",
        "says",
        "said",
        "states",
        "stated",
        "mentions",
        "mentioned",
        "notes",
        "feels",
        "thinks",
        "concerned",
        "worried",
        "present",
        "accompanied",
        "brought",
    ]
)
_REPORT_LEAD: Final = frozenset(["with", "per", "according", "by", "patient", "pt"])
_PATIENT: Final = frozenset(["patient", "pt", "he", "she", "himself", "herself"])


@dataclass(frozen=True)
class TriggerContext:
    negated: bool
    uncertain: bool
    experiencer: str  # "patient" or "other"


def _phrases(cues: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(sorted((tuple(c.split()) for c in cues), key=len, reverse=True))


_DENY_P: Final = _phrases(_DENY)
_AVERSE_P: Final = _phrases(_AVERSE)
_POST_P: Final = _phrases(_POST_DENY)
_UNCERTAIN_P: Final = _phrases(_UNCERTAIN)
_PSEUDO_P: Final = _phrases(_PSEUDO)


def _find(words: Sequence[str], cues: tuple[tuple[str, ...], ...]) -> list[tuple[int, int]]:
    """Spans (start, end) of cue phrases in ``words``, longest first, without overlaps."""
    taken: set[int] = set()
    spans: list[tuple[int, int]] = []
    for cue in cues:
        n = len(cue)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == cue and not taken.intersection(range(i, i + n)):
                spans.append((i, i + n))
                taken.update(range(i, i + n))
    return spans


def _clause(words: Sequence[str], start: int, end: int) -> tuple[int, int]:
    """The token range around [start, end) up to the nearest terminators."""
    left = start
    while left > 0 and words[left - 1] not in _TERMINATORS:
        left -= 1
    right = end
    while right < len(words) and words[right] not in _TERMINATORS:
        right += 1
    return left, right


def _masked(words: Sequence[str], spans: list[tuple[int, int]]) -> list[str]:
    out = list(words)
    for a, b in spans:
        for i in range(a, b):
            out[i] = ""
    return out


def _pre_negated(words: list[str], left: int, start: int, aversive: bool) -> bool:
    lo = max(left, start - PRE_WINDOW)
    window = words[lo:start]
    averse = _find(window, _AVERSE_P)
    if averse and aversive:
        return False
    window = _masked(window, averse)
    return bool(averse) or bool(_find(window, _DENY_P))


def _post_negated(words: list[str], end: int, right: int) -> bool:
    window = words[end : min(right, end + POST_WINDOW)]
    return bool(_find(window, _POST_P))


def _experiencer(words: Sequence[str], left: int, start: int) -> str:
    for i in range(start - 1, left - 1, -1):
        word = words[i]
        if word in _PATIENT:
            return "patient"
        if word not in _RELATIONS:
            continue
        after = set(words[i + 1 : i + 3])
        before = set(words[max(0, i - 3) : i])
        if after & _REPORTING or before & _REPORT_LEAD:
            continue
        return "other"
    return "patient"


def trigger_context(
    words: Sequence[str], start: int, end: int, aversive: bool = False
) -> TriggerContext:
    """Context of the trigger ``words[start:end]`` inside one sentence of lower-case tokens.

    Tokens of the trigger itself are never cues ("could not adapt" is not a negation of itself).
    """
    masked = _masked(words, [*_find(words, _PSEUDO_P), (start, end)])
    uncertain_cues = _find(words, _UNCERTAIN_P)
    left, right = _clause(words, start, end)
    negated = _pre_negated(masked, left, start, aversive) or _post_negated(masked, end, right)
    uncertain = any(
        words[a] == "?" or (left <= a and b <= right) for a, b in uncertain_cues
    ) and not any(a <= s < b for a, b in uncertain_cues for s in range(start, end))
    return TriggerContext(negated, uncertain, _experiencer(words, left, start))
