"""Bottleneck analytics: detection, a queueing model of the line, staff reallocation, a digital
twin for what-ifs, next-constraint prediction and utilisation tracking. Pure: time, seeds and
state are arguments."""

from ils.analytics.bottleneck.detection import Detection, detect, detect_over_time
from ils.analytics.bottleneck.model import BottleneckModel
from ils.analytics.bottleneck.optimizer import Move, Plan, Recommendation, recommend, search
from ils.analytics.bottleneck.prediction import ConstraintForecast, predict_constraint
from ils.analytics.bottleneck.queueing import mmc, tandem_line
from ils.analytics.bottleneck.trace import StationSnapshot, StationTrace, trace_from_snapshots
from ils.analytics.bottleneck.twin import (
    LineState,
    MachineTelemetry,
    Route,
    RunSpec,
    TwinStation,
    simulate,
)
from ils.analytics.bottleneck.utilization import UtilizationSeries, utilization_series
from ils.analytics.bottleneck.whatif import WhatIf, line_state_from_snapshot, run_what_if

__all__ = [
    "BottleneckModel",
    "ConstraintForecast",
    "Detection",
    "LineState",
    "MachineTelemetry",
    "Move",
    "Plan",
    "Recommendation",
    "Route",
    "RunSpec",
    "StationSnapshot",
    "StationTrace",
    "TwinStation",
    "UtilizationSeries",
    "WhatIf",
    "detect",
    "detect_over_time",
    "line_state_from_snapshot",
    "mmc",
    "predict_constraint",
    "recommend",
    "run_what_if",
    "search",
    "simulate",
    "tandem_line",
    "trace_from_snapshots",
    "utilization_series",
]
