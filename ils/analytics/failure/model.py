"""The 48-hour failure model of one lab, trained on its own history.

Gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``) on the window features of
``features.py``. The alarm threshold is never fixed by hand: the lab's machines are split into
``folds`` groups (by machine), each group is scored by a model trained on the others, and the
threshold is the lowest one whose out-of-fold false-alarm rate stays within the budget (false-alarm
episodes per machine-month, see ``scoring.py``). The final model is then fitted on every machine.
A second model (a regressor on the positive rows) estimates the hours left before a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from ils.analytics.failure.dataset import Dataset, MachineRows
from ils.analytics.failure.scoring import MachineAlarms, ScoringWindow, score_alarms

MODEL_NAME = "hist-gradient-boosting-window-features"


@dataclass(frozen=True)
class TrainingParams:
    false_alarm_budget: float = 1.0  # false-alarm episodes per machine-month
    folds: int = 3
    smoothing_rows: int = 3
    train_stride: int = 2
    max_iter: int = 120
    #: OpenMP threads for the trees. One by default: on a small shared machine the boosting rounds
    #: on a few hundred thousand rows run several times faster single-threaded (measured).
    threads: int = 1
    window: ScoringWindow = field(default_factory=ScoringWindow)


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    false_per_machine_month: float
    recall: float | None
    median_lead_h: float | None


@dataclass
class FailureModel:
    classifier: HistGradientBoostingClassifier
    lead_regressor: HistGradientBoostingRegressor | None
    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    horizon_h: float
    smoothing_rows: int
    choice: ThresholdChoice
    name: str = MODEL_NAME

    @property
    def threshold(self) -> float:
        return self.choice.threshold

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return np.empty(0)
        with threadpool_limits(limits=1, user_api="openmp"):
            return np.asarray(self.classifier.predict_proba(x)[:, 1])

    def smoothed(self, x: np.ndarray) -> np.ndarray:
        return smooth(self.probabilities(x), self.smoothing_rows)


def smooth(p: np.ndarray, rows: int) -> np.ndarray:
    """Causal moving average over the last ``rows`` samples (fewer at the start)."""
    if p.size == 0 or rows <= 1:
        return p
    c = np.cumsum(np.r_[0.0, p])
    idx = np.arange(1, p.size + 1)
    lo = np.maximum(idx - rows, 0)
    return np.asarray((c[idx] - c[lo]) / (idx - lo))


def train_failure_model(
    data: Dataset, rng: np.random.Generator, params: TrainingParams | None = None
) -> FailureModel:
    """Fit on every machine; choose the threshold on out-of-fold (held-out machine) scores."""
    params = params or TrainingParams()
    with threadpool_limits(limits=params.threads, user_api="openmp"):
        oof = out_of_fold_alarms_scores(data, rng, params)
        choice = choose_threshold(oof, params.false_alarm_budget, params.window)
        clf, reg = _fit(data, rng, params)
    return FailureModel(
        clf, reg, data.columns, data.metrics, data.horizon_h, params.smoothing_rows, choice
    )


def out_of_fold_alarms_scores(
    data: Dataset, rng: np.random.Generator, params: TrainingParams
) -> list[tuple[MachineRows, np.ndarray]]:
    """Each machine's smoothed probabilities from a model that never saw that machine."""
    ids = [m.equipment_id for m in data.machines]
    folds = machine_folds(ids, params.folds, rng)
    out: list[tuple[MachineRows, np.ndarray]] = []
    for held in folds:
        clf, _ = _fit(data.select(set(ids) - held), rng, params, with_regressor=False)
        for m in data.machines:
            if m.equipment_id in held:
                p = clf.predict_proba(m.frame.x)[:, 1] if m.frame.x.shape[0] else np.empty(0)
                out.append((m, smooth(np.asarray(p), params.smoothing_rows)))
    return out


def machine_folds(ids: list[str], folds: int, rng: np.random.Generator) -> list[set[str]]:
    """Machines shuffled into ``folds`` disjoint groups (at least 2, at most one per machine)."""
    k = max(2, min(folds, len(ids)))
    order = rng.permutation(len(ids))
    return [{ids[i] for i in order[j::k]} for j in range(k)]


def choose_threshold(
    scored: list[tuple[MachineRows, np.ndarray]], budget: float, window: ScoringWindow
) -> ThresholdChoice:
    """The lowest threshold whose false-alarm episodes per machine-month stay within ``budget``."""
    pooled = np.concatenate([p for _, p in scored]) if scored else np.empty(0)
    if pooled.size == 0:
        return ThresholdChoice(1.0, 0.0, None, None)
    candidates = np.unique(np.quantile(pooled, np.linspace(0.80, 1.0, 400)))
    best: ThresholdChoice | None = None
    for thr in candidates[::-1]:
        score = score_alarms(_alarms(scored, float(thr)), window)
        if score.false_per_machine_month > budget:
            break
        best = ThresholdChoice(
            float(thr), score.false_per_machine_month, score.recall(), score.median_lead_h()
        )
    if best is None:  # not even the highest score meets the budget: alarm on nothing
        return ThresholdChoice(float(np.nextafter(candidates[-1], np.inf)), 0.0, 0.0, None)
    return best


def _alarms(scored: list[tuple[MachineRows, np.ndarray]], thr: float) -> list[MachineAlarms]:
    return [
        MachineAlarms(m.equipment_id, m.frame.times, p >= thr, m.failures, m.observed_s)
        for m, p in scored
    ]


def _fit(
    data: Dataset, rng: np.random.Generator, params: TrainingParams, with_regressor: bool = True
) -> tuple[HistGradientBoostingClassifier, HistGradientBoostingRegressor | None]:
    x, y, ttf = data.stacked(params.train_stride)
    if x.shape[0] == 0 or y.all() or not y.any():
        raise ValueError("training needs rows with and without a failure within the horizon")
    seed = int(rng.integers(2**31 - 1))
    clf = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=0.1,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    ).fit(x, y)
    reg = None
    if with_regressor and int(y.sum()) >= 20:
        reg = HistGradientBoostingRegressor(
            max_iter=60, max_leaf_nodes=15, early_stopping=False, random_state=seed
        ).fit(x[y], ttf[y])
    return clf, reg
