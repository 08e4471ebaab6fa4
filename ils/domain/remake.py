"""Returns, non-adapts and remakes (DOMAIN.md "Returns, remakes, non-adapts").

A return or non-adapt never reopens the order it concerns: it is a record linked to the order and,
when a remake is wanted, a new order that points back at the original. Whether the lab honours the
remake under warranty depends on the category and on the days since delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ils.errors import FieldIssue, ValidationFailed


class RemakeCategory(StrEnum):
    LAB_ERROR = "lab_error"
    PRACTICE_CHANGE = "practice_change"  # the practice or doctor changed the Rx or the choice
    WARRANTY = "warranty"  # a defect of materials, honoured like a lab error
    NON_ADAPT = "non_adapt"


#: Statuses from which a return, non-adapt or remake may be filed: the glasses have left the lab.
ELIGIBLE_STATUSES = frozenset({"shipped", "completed"})


@dataclass(frozen=True)
class WarrantyPolicy:
    non_adapt_days: int = 90
    lab_error_days: int = 180

    @classmethod
    def from_settings(cls, lab_settings: dict[str, Any], non_adapt: int, lab_error: int) -> Any:
        return cls(
            non_adapt_days=int(lab_settings.get("non_adapt_window_days", non_adapt)),
            lab_error_days=int(lab_settings.get("lab_error_window_days", lab_error)),
        )

    def window_days(self, category: RemakeCategory) -> int | None:
        """Days after delivery the lab honours a remake of this category (None: not covered)."""
        if category is RemakeCategory.NON_ADAPT:
            return self.non_adapt_days
        if category in (RemakeCategory.LAB_ERROR, RemakeCategory.WARRANTY):
            return self.lab_error_days
        return None

    def covers(
        self, category: RemakeCategory, delivered_at: datetime | None, now: datetime
    ) -> bool:
        days = self.window_days(category)
        if days is None:
            return False
        if delivered_at is None:  # not yet delivered: the window has not started
            return True
        return (now - delivered_at).total_seconds() <= days * 86400


def parse_category(value: object, pointer: str = "/category") -> RemakeCategory:
    try:
        return RemakeCategory(str(value))
    except ValueError:
        raise ValidationFailed(
            [
                FieldIssue(
                    pointer,
                    "category-invalid",
                    "one of " + ", ".join(c.value for c in RemakeCategory),
                )
            ]
        ) from None


def check_eligible(status: str) -> None:
    if status not in ELIGIBLE_STATUSES:
        raise ValidationFailed(
            [
                FieldIssue(
                    "/order_id",
                    "order-not-delivered",
                    f"a {status} order has not left the lab; put it on hold or cancel it instead",
                )
            ]
        )
