"""Validate an order draft: every rule of DOMAIN.md "The prescription" and the frame and lens.

``validate_order`` returns errors (the order is refused, HTTP 422) and warnings (the order is
accepted and the practice is told), each a :class:`~ils.errors.FieldIssue` with a JSON pointer
into the draft (``/rx/od/axis``) and a stable kebab-case code. The codes are listed in
:data:`ERROR_CODES` and :data:`WARNING_CODES`; add to them, never rename.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError

from ils.domain.finding import Finding, Severity, error
from ils.domain.fitting_rules import (
    frame_rules,
    near_pd_rules,
    pd_rules,
    progressive_frame_rules,
    seg_height_rules,
)
from ils.domain.lens_rules import lens_rules
from ils.domain.order import OrderDraft
from ils.domain.rx_rules import eye_power_rules, pair_rules, prism_rules, vertex_rules
from ils.errors import FieldIssue

ERROR_CODES = frozenset(
    {
        "sphere-out-of-range", "sphere-step", "cylinder-out-of-range", "cylinder-step",
        "axis-required", "axis-out-of-range", "add-required", "add-not-allowed",
        "add-out-of-range", "add-step", "prism-out-of-range", "prism-step",
        "prism-base-required", "prism-direction-repeated", "vertex-distance-out-of-range",
        "pd-required", "pd-out-of-range", "pd-step", "near-pd-without-pd", "near-pd-step",
        "near-pd-exceeds-pd", "seg-height-required", "seg-height-out-of-range",
        "seg-height-step", "seg-height-below-design-minimum", "seg-height-exceeds-frame",
        "frame-too-shallow", "frame-measurement-required", "frame-a-out-of-range",
        "frame-b-out-of-range", "frame-dbl-out-of-range", "frame-ed-out-of-range",
        "frame-b-exceeds-a", "frame-ed-below-a", "coating-duplicate", "due-date-past",
    }
)  # fmt: skip
WARNING_CODES = frozenset(
    {
        "axis-without-cylinder", "prism-base-without-amount", "prism-split-cancels",
        "vertex-distance-missing", "anisometropia", "monocular-pd-preferred", "near-pd-unusual",
        "high-index-recommended", "ar-recommended", "rimless-material",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ValidationResult:
    """Errors refuse the order; warnings are shown to the practice. ``valid`` iff no error."""

    errors: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        """The body of ``POST /api/orders/validate`` (API.md)."""
        return {
            "valid": self.valid,
            "errors": [issue.as_dict() for issue in self.errors],
            "warnings": [issue.as_dict() for issue in self.warnings],
        }


def validate_order(
    draft: OrderDraft,
    min_fitting_height: float | None = None,
    *,
    short_corridor: bool | None = None,
    today: date | None = None,
) -> ValidationResult:
    """Check a draft against every prescription, fitting, frame and lens rule.

    ``min_fitting_height`` is the progressive design's minimum (from the catalogue; 15 mm when
    unknown). ``short_corridor`` says whether the design is a short-corridor progressive (frame B
    >= 22 mm instead of 28 mm); None infers it from the design code ("short" / "compact").
    ``today``, when given, refuses a due date in the past (the domain reads no clock).
    """
    findings = list(_findings(draft, min_fitting_height, short_corridor, today))
    return ValidationResult(
        errors=[f.issue for f in findings if f.severity is Severity.ERROR],
        warnings=[f.issue for f in findings if f.severity is Severity.WARNING],
    )


def _findings(
    draft: OrderDraft,
    min_fitting_height: float | None,
    short_corridor: bool | None,
    today: date | None,
) -> Iterator[Finding]:
    rx, lens, frame = draft.rx, draft.lens, draft.frame
    if today is not None and draft.due_date < today:
        yield error("/due_date", "due-date-past", f"{draft.due_date} is before {today}")
    for name, eye in rx.eyes():
        yield from eye_power_rules(name, eye, lens.type)
        yield from prism_rules(name, eye)
        yield from vertex_rules(name, eye)
    yield from pair_rules(rx)
    yield from pd_rules(rx, lens.type)
    yield from near_pd_rules(rx)
    yield from seg_height_rules(rx, lens, frame, min_fitting_height)
    yield from frame_rules(frame)
    yield from progressive_frame_rules(lens, frame, short_corridor)
    yield from lens_rules(rx, lens, frame)


def issues_from_pydantic(exc: ValidationError) -> list[FieldIssue]:
    """Schema errors of a draft as field issues: pointer from the location, code from the type.

    For example a string sphere gives ``/rx/od/sphere`` ``float-type``, an unknown field
    ``extra-forbidden``, a missing one ``missing``. The HTTP edge returns them as a 422 like the
    domain's own errors.
    """
    issues = []
    for item in exc.errors(include_url=False):
        pointer = "".join(f"/{_escape(str(part))}" for part in item["loc"])
        issues.append(
            FieldIssue(pointer=pointer, code=item["type"].replace("_", "-"), detail=item["msg"])
        )
    return issues


def _escape(segment: str) -> str:
    """RFC 6901 escaping of one pointer segment."""
    return segment.replace("~", "~0").replace("/", "~1")
