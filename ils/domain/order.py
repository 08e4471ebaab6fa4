"""The order draft a practice submits (API.md "Orders", body of ``POST /api/orders``).

The draft is what the practice sends before ILS assigns an id, a number and a status; the order's
lifecycle is in :mod:`ils.domain.order_status`. JSON field names are those of API.md exactly.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ils.domain.lens import Frame, Lens
from ils.domain.rx import Rx


class Priority(StrEnum):
    RUSH = "rush"
    STANDARD = "standard"


class OrderDraft(BaseModel):
    """A practice's order: the patient's Rx, the lens and the frame, for one lab."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lab_id: UUID
    patient_ref: str = Field(min_length=1, max_length=64)
    due_date: date
    priority: Priority = Priority.STANDARD
    rx: Rx
    lens: Lens
    frame: Frame
    clinical_notes: str | None = Field(default=None, max_length=4000)
