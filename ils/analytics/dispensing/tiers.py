"""Good/Better/Best: three distinct valid products in strictly ascending price and benefit.

The candidates are the price-benefit Pareto frontier (no other valid product is both cheaper and
better). Good is its cheapest point, Best its most beneficial point, Better the point between
them that adds the most benefit per unit of price over Good. Products in stock are preferred: the
tiers come from in-stock products when those alone give all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

EPSILON: Final = 0.005  # benefit a tier must add to count as more (rounded to 0.001 in answers)
TIERS: Final = ("good", "better", "best")


@dataclass(frozen=True)
class TierChoice:
    """Product positions per tier (None: no product fits that tier) and whether stock decided."""

    positions: tuple[int | None, int | None, int | None]
    in_stock_only: bool


def frontier(
    candidates: npt.NDArray[np.intp], price: npt.NDArray[np.float64], score: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Candidates on the frontier, ascending in price and strictly ascending in benefit."""
    if candidates.size == 0:
        return candidates
    order = candidates[np.lexsort((-score[candidates], price[candidates]))]
    ordered = score[order]
    previous_best = np.concatenate(([-np.inf], np.maximum.accumulate(ordered)[:-1]))
    return order[ordered > previous_best + EPSILON]


def _middle(
    candidates: npt.NDArray[np.intp],
    price: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
    low: int,
    high: int,
) -> int | None:
    """The most beneficial candidate strictly between ``low`` and ``high`` in price and benefit."""
    between = candidates[
        (price[candidates] > price[low] + EPSILON)
        & (price[candidates] < price[high] - EPSILON)
        & (score[candidates] > score[low] + EPSILON)
        & (score[candidates] < score[high] - EPSILON)
    ]
    if between.size == 0:
        return None
    return int(between[np.argmax(score[between])])


def _choose(
    candidates: npt.NDArray[np.intp], price: npt.NDArray[np.float64], score: npt.NDArray[np.float64]
) -> tuple[int | None, int | None, int | None]:
    front = frontier(candidates, price, score)
    if front.size == 0:
        return (None, None, None)
    good, best = int(front[0]), int(front[-1])
    if good == best:
        return (good, None, None)
    inner = front[1:-1]
    if inner.size:
        gain = (score[inner] - score[good]) / (price[inner] - price[good])
        return (good, int(inner[np.argmax(gain)]), best)
    return (good, _middle(candidates, price, score, good, best), best)


def choose_tiers(
    valid: npt.NDArray[np.bool_],
    in_stock: npt.NDArray[np.bool_],
    price: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
) -> TierChoice:
    stocked = np.flatnonzero(valid & in_stock)
    choice = _choose(stocked, price, score)
    if all(p is not None for p in choice):
        return TierChoice(choice, True)
    everything = _choose(np.flatnonzero(valid), price, score)
    filled = sum(p is not None for p in everything)
    if filled > sum(p is not None for p in choice):
        return TierChoice(everything, False)
    return TierChoice(choice, True)
