"""Domain events: what happened, to be appended to a tenant's log and pushed to its screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Topic(StrEnum):
    """Subscription topics of the real-time API (API.md "Real-time")."""

    ORDERS = "orders"
    STATIONS = "stations"
    ALERTS = "alerts"
    METRICS = "metrics"


@dataclass(frozen=True)
class NewEvent:
    """An event not yet in the log: it gets its ``seq`` when the transaction appends it."""

    type: str
    topic: Topic
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    order_id: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event committed to one tenant's log at position ``seq``."""

    tenant_id: str
    seq: int
    type: str
    topic: Topic
    occurred_at: datetime
    data: dict[str, Any]
    order_id: str | None = None

    def wire(self) -> dict[str, Any]:
        """The ``event`` object of a real-time frame and of an order timeline."""
        body: dict[str, Any] = {"type": self.type, **self.data}
        if self.order_id is not None:
            body["order_id"] = self.order_id
        body["occurred_at"] = self.occurred_at.isoformat().replace("+00:00", "Z")
        return body

    def frame(self) -> dict[str, Any]:
        """The room's and the gateway's unit: position, topic and the wire event."""
        return {"seq": self.seq, "topic": str(self.topic), "event": self.wire()}
