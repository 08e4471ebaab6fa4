"""Volume anomalies: a day's orders outside the demand forecast's 95% interval."""

from __future__ import annotations

from ils.analytics.anomaly.finding import Finding


def volume_finding(
    day_start: float, orders: float, forecast: float, lower_95: float, upper_95: float
) -> Finding | None:
    """A finding when ``orders`` falls outside ``[lower_95, upper_95]`` (else None)."""
    if lower_95 <= orders <= upper_95:
        return None
    half = max((upper_95 - lower_95) / 2.0, 1e-9)
    score = abs(orders - forecast) / half
    return Finding(
        kind="volume",
        subject="orders:daily",
        severity="critical" if score >= 2.0 else "warning",
        detected_at=day_start,
        rule="outside-forecast-95",
        score=score,
        evidence={
            "orders": orders,
            "forecast": forecast,
            "lower_95": lower_95,
            "upper_95": upper_95,
            "direction": "above" if orders > upper_95 else "below",
        },
    )
