"""The live ops dashboard in headless Chromium: sign in, see events arrive, a station count move.

Needs Debian's ``chromium`` and ``chromium-driver`` (the Makefile installs them as root); without
them the test is skipped with the reason. Selenium drives the browser from a worker thread while
the API and the gateway serve on loopback in the test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from ils.domain.access import TenantKind
from ils.settings import Settings
from tests.integration.conftest import PASSWORD, World, make_party
from tests.integration.lims_inbound.conftest import Lims, place_order
from tests.integration.ops.live_site import Site, live_site

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = os.environ.get("ILS_DASHBOARD_SCREENSHOT", "/tmp/ils-dashboard.png")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium is not installed (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    async with live_site(settings) as s:
        yield s


@pytest.fixture
async def people(site: Site) -> World:
    lab = await make_party(site.runtime, site.client, TenantKind.LAB, "Glass Works")
    practice = await make_party(site.runtime, site.client, TenantKind.PRACTICE, "Clear View")
    other = await make_party(site.runtime, site.client, TenantKind.PRACTICE, "Far Sight")
    now = site.runtime.clock()
    await site.runtime.identity.link(lab.tenant_id, practice.tenant_id, now)
    return World(lab, practice, other)


async def import_history(site: Site, world: World) -> None:
    """Twenty weeks of daily orders with a weekly rhythm, through yesterday."""
    today = site.runtime.clock().date()
    days = [
        {"date": str(today - timedelta(days=n)), "orders": 300 + 40 * ((today.toordinal() - n) % 7)}
        for n in range(140, 0, -1)
    ]
    response = await site.client.put(
        "/api/ai/demand-history", json={"days": days}, headers=world.lab.auth
    )
    assert response.status_code == 200, response.text


async def until(
    check: Callable[[], Any], what: str, timeout_s: float = 15.0, driver: Any = None
) -> Any:
    """Poll ``check`` (run in a thread: Selenium blocks) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            console = await asyncio.to_thread(driver.get_log, "browser") if driver else []
            header = await asyncio.to_thread(_text, driver, "header") if driver else ""
            raise AssertionError(f"timed out waiting for {what}; {header!r}; console: {console}")
        await asyncio.sleep(0.1)


def _text(driver: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, css)
    return str(found[0].text) if found else ""


def _state(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "conn").get_attribute("data-state"))


def _sign_in(driver: Any, url: str, email: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()


def _forecast_points(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, "#forecast-chart svg circle.dot"))


def _event_types(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [str(e.text) for e in driver.find_elements(By.CSS_SELECTOR, "#events .etype")]


async def test_a_lab_manager_sees_orders_arrive_and_a_station_fill(
    site: Site, people: World, browser: Any
) -> None:
    surfacing_queue = '[data-station="surfacing"] [data-field="queue"]'
    await import_history(site, people)
    await asyncio.to_thread(_sign_in, browser, site.page_url(), people.lab.email)
    await until(lambda: _state(browser) == "live", "the socket to be live", driver=browser)
    await until(lambda: _text(browser, surfacing_queue) == "0", "the station board")
    assert "Glass Works" not in _text(browser, "#who")  # the page shows the user, not secrets
    assert people.lab.email in _text(browser, "#who")
    await until(lambda: _forecast_points(browser) == 14, "the 14-day forecast chart")

    order = await place_order(site.client, people)
    created = await until(
        lambda: "order.created" in _event_types(browser), "order.created on the live feed"
    )
    assert created
    number = order["order_number"]
    await until(lambda: number in _text(browser, "#orders"), "the new order in the order flow")

    assert people.lab.webhook_secret
    lims = Lims(site.client, people, people.lab.webhook_secret)
    entered = lims.event(order["id"], "job.station_changed", station="surfacing", status="queued")
    response = await lims.post(entered)
    assert response.status_code == 200, response.text
    await until(lambda: _text(browser, surfacing_queue) == "1", "surfacing's queue to become 1")
    await until(lambda: "station.snapshot" in _event_types(browser), "the station snapshot event")
    row = _text(browser, f'#orders tr[data-order="{order["id"]}"]')
    assert "Surfacing" in row or "surfacing" in row.lower()
    # The sequence shown is the tenant's head: every event arrived, none skipped.
    async with site.runtime.db.connection() as conn:
        head = await conn.fetchval(
            "SELECT max(seq) FROM events WHERE tenant_id = $1", people.lab.tenant_id
        )
    await until(lambda: _text(browser, "#seq") == str(head), "the page to reach the log's head")
    await asyncio.to_thread(browser.save_screenshot, SCREENSHOT)


async def test_a_bad_password_is_refused_on_the_page(
    site: Site, people: World, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    def attempt() -> None:
        browser.get(site.page_url())
        browser.find_element(By.ID, "email").send_keys(people.lab.email)
        browser.find_element(By.ID, "password").send_keys("not the password")
        browser.find_element(By.ID, "login-button").click()

    await asyncio.to_thread(attempt)
    message = await until(lambda: _text(browser, "#login-error"), "the sign-in error")
    assert message
    assert await asyncio.to_thread(_state, browser) == "offline"
    assert not await asyncio.to_thread(lambda: browser.find_element(By.ID, "board").is_displayed())
