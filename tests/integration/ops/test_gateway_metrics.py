"""The gateway records open sockets and each event's propagation time to the socket."""

from __future__ import annotations

import asyncio

from ils.domain.access import TenantKind
from ils.services.instruments import PROPAGATION_MS, SOCKETS, RecordingMeter
from ils.settings import Settings
from tests.integration.conftest import World, make_party
from tests.integration.lims_inbound.conftest import place_order
from tests.integration.ops.live_site import live_site
from tests.integration.realtime_stack import Screen


async def _sockets(meter: RecordingMeter) -> float:
    values = [v for (name, _), v in meter.values.items() if name == SOCKETS]
    assert len(values) == 1  # one gateway replica
    return values[0]


async def test_sockets_and_propagation_are_measured(settings: Settings) -> None:
    meter = RecordingMeter()
    async with live_site(settings, meter) as site:
        lab = await make_party(site.runtime, site.client, TenantKind.LAB, "Metered Lab")
        practice = await make_party(site.runtime, site.client, TenantKind.PRACTICE, "Metered Eye")
        await site.runtime.identity.link(lab.tenant_id, practice.tenant_id, site.runtime.clock())
        screens = [await Screen.open(site.ws_url, p.token) for p in (lab, practice)]
        for screen in screens:
            assert (await screen.next())["type"] == "ready"
        assert await _sockets(meter) == 2
        await place_order(site.client, World(lab, practice, practice))
        for screen in screens:
            assert (await screen.next())["event"]["type"] == "order.created"
        waits = meter.seen(PROPAGATION_MS, topic="orders")
        assert len(waits) == 2 and all(0 <= w < 60_000 for w in waits)
        for screen in screens:
            await screen.close()
        for _ in range(100):
            if await _sockets(meter) == 0:
                break
            await asyncio.sleep(0.05)
        assert await _sockets(meter) == 0
