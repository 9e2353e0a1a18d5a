"""End to end in headless Chromium: a supervisor logs in, opens the round's
dashboard, approves a flagged interview from its page and sees the counts
change. Screenshots at desktop (1366 px) and tablet (768 px) width go to
var/screenshots/."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.conftest import CHROMEDRIVER, CHROMIUM, ROOT
from tests.factories import PASSWORD

SHOTS = ROOT / "var" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kazakhstan(transactional_db):
    """The locations of migration 0002: an earlier transactional test may have flushed them."""
    from surveys.locations_kz import ensure_kazakhstan
    from surveys.models import Location

    ensure_kazakhstan(Location)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def shot(driver, name: str, width: int) -> Path:
    """A screenshot of the whole page laid out ``width`` CSS px wide (Chrome's DevTools protocol)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": min(int(height) + 1, 6000), "deviceScaleFactor": 1,
                            "mobile": False})
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{width}.png"
    path.write_bytes(base64.b64decode(png["data"]))
    return path


def text(driver, css: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css).text.strip()


def test_supervisor_approves_a_flagged_interview(live_server, kazakhstan, browser, teams):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1366, 900)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("supA")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.LINK_TEXT, "mtm-kz round 4").click()

    assert browser.current_url == f"{live_server.url}/admin/surveys/round/{teams.round.pk}/dashboard/"
    assert text(browser, "#card-review .n") == "2"
    assert text(browser, "#approved-count") == "0"
    assert text(browser, "#card-target .n") == "5 / 20"
    assert [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#flags-table tbody tr")] == [
        "gps_outside_area 1", "outlier 1"]
    assert text(browser, "#behind") == ("enum01: 4 done, 5 expected by today of 10\n"
                                        "enum02: 1 done, 5 expected by today of 10")
    desktop = shot(browser, "dashboard", 1366)
    tablet = shot(browser, "dashboard", 768)

    browser.set_window_size(768, 1024)
    browser.find_element(By.LINK_TEXT, "outlier").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1
    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    review_page = shot(browser, "review", 768)
    browser.find_element(By.ID, "review-comment").send_keys("Age confirmed by phone")
    browser.find_element(By.ID, "review-approved").click()
    assert "Marked approved." in text(browser, ".messagelist")

    browser.get(f"{live_server.url}/admin/surveys/round/{teams.round.pk}/dashboard/")
    assert text(browser, "#card-review .n") == "1"
    assert text(browser, "#approved-count") == "1"
    assert [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#flags-table tbody tr")] == [
        "gps_outside_area 1"]
    after = shot(browser, "dashboard-after-review", 1366)
    teams.subs.a1[2].refresh_from_db()
    assert (teams.subs.a1[2].review_status, teams.subs.a1[2].reviewed_by.username) == ("approved", "supA")
    assert all(p.stat().st_size > 10_000 for p in (desktop, tablet, review_page, after))
