"""What a detector reports: a finding, before alert de-duplication."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("equipment", "process", "quality", "volume")
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Finding:
    """``subject`` names what is anomalous (``equipment:m001:vibration_mm_s``, ``station:edging``).

    ``evidence`` carries the readings and the rule behind the finding, ready for the alert body.
    """

    kind: str
    subject: str
    severity: str
    detected_at: float
    rule: str
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown anomaly kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


def severity_for(score: float, critical_at: float = 2.0) -> str:
    """``score`` is the statistic over its alarm limit (1.0 = on the limit)."""
    return "critical" if score >= critical_at else "warning"
