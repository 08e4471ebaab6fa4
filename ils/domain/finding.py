"""Findings of the order validator: a field issue and whether it refuses the order.

Rules are generators of :class:`Finding`; :mod:`ils.domain.validation` sorts them into errors
(the order is refused) and warnings (the order is accepted and the practice is told).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from ils.domain.quantity import on_step
from ils.errors import FieldIssue


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    issue: FieldIssue


def error(pointer: str, code: str, detail: str) -> Finding:
    """A finding that refuses the order."""
    return Finding(Severity.ERROR, FieldIssue(pointer=pointer, code=code, detail=detail))


def warning(pointer: str, code: str, detail: str) -> Finding:
    """A finding shown to the practice; the order is accepted."""
    return Finding(Severity.WARNING, FieldIssue(pointer=pointer, code=code, detail=detail))


@dataclass(frozen=True)
class Scale:
    """A prescribed quantity's allowed range and grid, e.g. sphere -20.00..+20.00 D by 0.25 D."""

    name: str
    low: float
    high: float
    step: float | None
    unit: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def check_scale(value: float, scale: Scale, pointer: str) -> Iterator[Finding]:
    """``<name>-out-of-range`` or ``<name>-step`` for a value off the scale (range first)."""
    if not scale.contains(value):
        yield error(
            pointer,
            f"{scale.name}-out-of-range",
            f"{value:g} {scale.unit} is outside {scale.low:g}..{scale.high:g} {scale.unit}",
        )
    elif scale.step is not None and not on_step(value, scale.step):
        yield error(
            pointer,
            f"{scale.name}-step",
            f"{value:g} {scale.unit} is not a multiple of {scale.step:g} {scale.unit}",
        )
