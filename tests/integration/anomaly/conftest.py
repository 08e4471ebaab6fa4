"""The anomaly tests run on a fixed clock: detector behaviour depends on the time of day and week
of the readings, and the readings must be recent for the intake checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from ils.runtime import Runtime
from ils.services.ports import Gateways, RecordingPublisher
from ils.settings import Settings

#: A Saturday noon (UTC). Detectors warmed on fewer than 7 days have not yet learned the quiet
#: Sunday, so the tests warm them on weekdays: Monday MONDAY to Thursday.
NOW = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings, Gateways(publisher=RecordingPublisher()), clock=fixed_clock)
    try:
        yield rt
    finally:
        await rt.anomaly.settle()
        await rt.bus.delete_prefix("")
        await rt.close()
