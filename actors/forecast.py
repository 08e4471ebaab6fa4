"""``ForecastModel``: one Ray actor per lab tenant, the home of the lab's fitted demand model.

The actor is an address and a lifetime: what to serve and when to refit is decided by
``ils.services.forecast_model.LabForecast`` (unit-tested without Ray); the actor runs the fits it
asks for on a worker thread, so a request always gets an answer at once. A restarted actor starts
empty: the next request is answered provisionally while the model is selected again.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import ray

from actors.metrics import RayMeter
from actors.naming import named_actor
from ils.services.forecast_model import (
    FitRequest,
    FittedLab,
    LabForecast,
    ServedModel,
    failure_reason,
    fit_lab,
)
from ils.services.instruments import MODEL_FIT_S


def actor_name(lab_id: str) -> str:
    return f"forecast:{lab_id}"


@ray.remote(max_restarts=-1, max_task_retries=3, num_cpus=0)
class ForecastModel:
    def __init__(self, lab_id: str) -> None:
        self.lab_id = lab_id
        self.lab = LabForecast()
        self.lock = threading.Lock()
        self.meter = RayMeter()

    def serve(self, request: FitRequest) -> ServedModel:
        with self.lock:
            served, start = self.lab.answer(request)
            if start:
                self.lab.started(request)
                worker = threading.Thread(
                    target=self._fit, args=(request, self.lab.fitted), daemon=True
                )
                worker.start()
        return served

    def status(self) -> dict[str, Any]:
        with self.lock:
            fitted = self.lab.fitted
            return {
                "lab_id": self.lab_id,
                "running": self.lab.running is not None,
                "fingerprint": fitted.fingerprint if fitted else None,
                "model": fitted.fit.model if fitted else None,
            }

    def _fit(self, request: FitRequest, previous: FittedLab | None) -> None:
        started = time.perf_counter()
        try:
            fitted = fit_lab(request, previous)
            self.meter.observe(MODEL_FIT_S, time.perf_counter() - started, {"model": "demand"})
        except Exception as exc:
            with self.lock:
                self.lab.crashed(request, failure_reason(exc))
            return
        with self.lock:
            self.lab.finished(fitted)


def forecast_model(lab_id: str) -> Any:
    """The lab's actor, created on first use (detached: it outlives the replica that made it)."""
    return named_actor(ForecastModel, actor_name(lab_id), lab_id)
