"""Metric catalogue and recording, JSON logs with request ids, the `ils status` summary."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ils import logging_setup
from ils.services.instruments import (
    ALERTS_RAISED,
    CATALOGUE,
    EVENTS_INGESTED,
    OUTBOX_DEPTH,
    PROPAGATION_MS,
    Kind,
    RecordingMeter,
)
from ils.status import actor_counts, serve_applications, summarize


def test_every_instrument_is_described_and_histograms_have_increasing_buckets() -> None:
    assert len(CATALOGUE) >= 7
    for instrument in CATALOGUE.values():
        assert instrument.name.startswith("ils_") and instrument.description
        if instrument.kind is Kind.HISTOGRAM:
            bounds = list(instrument.boundaries)
            assert bounds and bounds == sorted(set(bounds)) and bounds[0] > 0
        else:
            assert instrument.boundaries == ()


def test_recording_meter_checks_names_and_tags() -> None:
    meter = RecordingMeter()
    meter.count(EVENTS_INGESTED, tags={"outcome": "applied"})
    meter.count(EVENTS_INGESTED, 2, {"outcome": "applied"})
    meter.observe(PROPAGATION_MS, 12.5, {"topic": "orders"})
    meter.set(OUTBOX_DEPTH, 3, {"lab": "L"})
    meter.set(OUTBOX_DEPTH, 0, {"lab": "L"})
    assert meter.total(EVENTS_INGESTED, outcome="applied") == 3
    assert meter.total(EVENTS_INGESTED, outcome="late") == 0
    assert meter.seen(PROPAGATION_MS, topic="orders") == [12.5]
    assert meter.last(OUTBOX_DEPTH, lab="L") == 0
    with pytest.raises(KeyError):
        meter.count("ils_made_up_total")
    with pytest.raises(ValueError):
        meter.count(ALERTS_RAISED, tags={"severity": "high"})  # its tag is `kind`


def test_json_logs_carry_the_request_id_and_extras() -> None:
    stream = io.StringIO()
    handler = logging_setup.configure("INFO", stream)
    try:
        log = logging.getLogger("ils.test.ops")
        log.info("outside")
        with logging_setup.request_scope("req-12345678"):
            log.warning("inside %s", "a request", extra={"lab_id": "L1"})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    outside, inside, failed = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "request_id" not in outside and outside["message"] == "outside"
    assert inside["request_id"] == "req-12345678"
    assert (inside["message"], inside["level"], inside["lab_id"]) == (
        "inside a request",
        "WARNING",
        "L1",
    )
    assert "RuntimeError: boom" in failed["exc"]
    assert logging_setup.request_id() is None


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("abcdef12-3456", True), ("short", False), ("bad id with spaces!", False), (None, False)],
)
def test_a_request_id_is_kept_only_when_it_looks_like_one(offered: str | None, kept: bool) -> None:
    rid = logging_setup.accept_request_id(offered)
    assert (rid == offered) is kept
    assert 8 <= len(rid) <= 128


SERVE = {
    "applications": {
        "api": {
            "status": "RUNNING",
            "message": "",
            "route_prefix": "/",
            "deployments": {
                "api": {"status": "HEALTHY", "replicas": [{"state": "RUNNING"}] * 2},
            },
        },
        "realtime": {
            "status": "DEPLOY_FAILED",
            "message": "import error",
            "route_prefix": "/ws",
            "deployments": {"gateway": {"status": "UNHEALTHY", "replicas": []}},
        },
    }
}
ACTORS = {
    "data": {
        "result": {
            "result": [
                {"class_name": "TenantRoom", "state": "ALIVE"},
                {"class_name": "TenantRoom", "state": "ALIVE"},
                {"class_name": "StationActor", "state": "RESTARTING"},
                {"class_name": "ServeReplica:api:api", "state": "ALIVE"},
            ]
        }
    }
}


def test_status_summarises_serve_actors_and_readiness() -> None:
    apps = serve_applications(SERVE)
    assert apps["api"]["deployments"]["api"]["replicas"] == {"RUNNING": 2}
    actors = actor_counts(ACTORS)
    assert actors["TenantRoom"] == {"ALIVE": 2}
    ready = {"reachable": True, "ready": True, "checks": {"database": True, "redis": True}}
    healthy = summarize(ready, {"applications": {"api": apps["api"]}, "actors": {}})
    assert healthy["healthy"] and healthy["problems"] == []
    sick = summarize(
        {"reachable": True, "ready": False, "checks": {"database": True, "redis": False}},
        {"applications": apps, "actors": actors},
    )
    assert not sick["healthy"]
    assert sick["problems"] == [
        "api not ready: redis",
        "serve app realtime is DEPLOY_FAILED: import error",
        "1 StationActor actor(s) restarting",
    ]
    down = summarize({"reachable": False, "error": "refused"}, None)
    assert down["problems"] == ["api unreachable: refused"] and down["cluster"] is None
