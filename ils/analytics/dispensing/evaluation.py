"""Precision, recall and F1 of intent extraction against labelled notes.

A label is a (tag, negated) pair: predicting "night_driving" for a note that says "no night
driving" is both a false positive (tag, False) and a false negative (tag, True). Micro figures pool
every pair; per-intent figures pool the two polarities of one tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import multilabel_confusion_matrix
from sklearn.preprocessing import MultiLabelBinarizer

from ils.analytics.dispensing.intents import extract_intents, label_set
from ils.analytics.dispensing.lexicon import INTENT_TAGS
from ils.analytics.dispensing.notes import read_note

Label = tuple[str, bool]


@dataclass(frozen=True)
class LabelledNote:
    id: str
    split: str
    text: str
    labels: frozenset[Label]


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    support: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
        }


def _score(tp: int, fp: int, fn: int) -> Score:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Score(p, r, f, tp + fn)


def predict(notes: Iterable[LabelledNote]) -> list[set[Label]]:
    return [label_set(extract_intents(read_note(n.text))) for n in notes]


def evaluate(
    gold: Sequence[frozenset[Label]], predicted: Sequence[set[Label]]
) -> tuple[Score, dict[str, Score]]:
    """Micro score and per-intent scores (only intents that occur in gold or predictions)."""
    classes = [(t, n) for t in INTENT_TAGS for n in (False, True)]
    mlb = MultiLabelBinarizer(classes=classes)
    y_true = mlb.fit_transform([sorted(g) for g in gold])
    y_pred = mlb.transform([sorted(p) for p in predicted])
    cm = multilabel_confusion_matrix(y_true, y_pred)  # per class: [[tn, fp], [fn, tp]]
    tp, fp, fn = cm[:, 1, 1], cm[:, 0, 1], cm[:, 1, 0]
    micro = _score(int(tp.sum()), int(fp.sum()), int(fn.sum()))
    per: dict[str, Score] = {}
    tags = np.array([c[0] for c in classes])
    for tag in INTENT_TAGS:
        sel = tags == tag
        if tp[sel].sum() + fp[sel].sum() + fn[sel].sum():
            per[tag] = _score(int(tp[sel].sum()), int(fp[sel].sum()), int(fn[sel].sum()))
    return micro, per


def errors(
    notes: Sequence[LabelledNote], predicted: Sequence[set[Label]]
) -> list[dict[str, object]]:
    """The notes where prediction and gold differ, for reading."""
    return [
        {
            "id": n.id,
            "text": n.text,
            "missed": sorted(n.labels - p),
            "spurious": sorted(p - n.labels),
        }
        for n, p in zip(notes, predicted, strict=True)
        if set(n.labels) != p
    ]
