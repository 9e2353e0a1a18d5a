"""End to end in headless Chromium (issue 15's done-when), once in Russian on a
768 px tablet and once in English at 1366 px: a supervisor switches the
interface language, opens the round's dashboard from the home page, filters
the submission list to *Not reviewed*, opens an interview with a repeat group,
reads its labels, approves it and sees every count (home page, dashboard,
list) change together. Each page is saved at both widths in var/screenshots/
(``<page>-<language>-<width>.png``); at 768 px the list has no sideways scroll."""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import ROOT
from tests.factories import PASSWORD

SHOTS = ROOT / "var" / "screenshots"
WIDTHS = (768, 1366)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def household_team(kazakhstan, household):
    """The household form (English and Russian labels, a repeat of household members) in round 4;
    supervisor sup1 oversees enum01, who sent three interviews: a woman with two household members
    (40 and 12), and two men without."""
    from django.contrib.auth.models import Group

    from enumerators.services.roles import roles_ensure
    from surveys.models import Submission
    from surveys.services.ingest import Sender, submission_ingest_xml
    from surveys.services.processing import submission_process
    from tests.factories import AssignmentFactory, EnumeratorFactory, UserFactory
    from tests.surveys.api.kobo.conftest import household_instance

    roles_ensure()
    supervisor = UserFactory(username="sup1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    enumerator = EnumeratorFactory(user=UserFactory(username="enum01"), supervisor=supervisor)
    AssignmentFactory(enumerator=enumerator, round=household.round)
    sent = []
    for answers in ({"sex": "female", "members": ("40", "12"), "reasons": "work family"},
                    {"sex": "male", "age": "41"}, {"sex": "male", "age": "29"}):
        sub = submission_ingest_xml(xml=household_instance(**answers), sender=Sender(user=enumerator.user))
        submission_process(submission_id=sub.submission.pk)
        sent.append(Submission.objects.get(pk=sub.submission.pk))
    return SimpleNamespace(round=household.round, with_members=sent[0])


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


def shots(driver, name: str) -> list[Path]:
    return [shot(driver, name, width) for width in WIDTHS]


def text(driver, css: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css).text.strip()


def number(driver, css: str) -> int:
    return int(text(driver, css).split()[0])


def counts(driver, live_server, round_id: int) -> dict[str, int]:
    """The same figure read on the home page, the dashboard and the list."""
    from selenium.webdriver.common.by import By

    driver.get(f"{live_server.url}/admin/")
    home = number(driver, f'#mtm-dashboards a.mtm-to-review[href*="round={round_id}&review=waiting"]')
    driver.get(f"{live_server.url}/admin/surveys/round/{round_id}/dashboard/")
    figures = {"home": home, "card": number(driver, "#card-review .n"), "waiting": number(driver, "#waiting-count"),
               "not_reviewed": number(driver, "#not-reviewed-count"), "approved": number(driver, "#approved-count")}
    driver.get(f"{live_server.url}/admin/surveys/submission/?round={round_id}&review=waiting")
    figures["list"] = len(driver.find_elements(By.CSS_SELECTOR, "#result_list tbody tr"))
    return figures


@pytest.mark.parametrize(("language", "width"), [("ru", 768), ("en", 1366)])
def test_supervisor_reviews_an_interview_in_their_language(live_server, household_team, browser, language,
                                                           width):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    saved: list[Path] = []
    browser.set_window_size(width, 1000)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("sup1")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # The login page has the language switch too: wait for the home page before using it (else it can go stale).
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "user-tools"))

    # The language switch in the admin's header (Django's /i18n/setlang/).
    Select(browser.find_element(By.CSS_SELECTOR, '#language-switch select[name="language"]')).select_by_value(
        language)
    browser.find_element(By.CSS_SELECTOR, f'#language-switch option[value="{language}"][selected]')
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
    welcome = {"ru": "Добро пожаловать,", "en": "Welcome,"}[language]
    # Django's own admin strings, in the chosen language.
    assert welcome in browser.find_element(By.ID, "user-tools").get_attribute("textContent")
    saved += shots(browser, f"home-{language}")

    before = counts(browser, live_server, household_team.round.pk)
    assert before == {"home": 3, "card": 3, "waiting": 3, "not_reviewed": 3, "approved": 0, "list": 3}

    browser.get(f"{live_server.url}/admin/")
    browser.find_element(By.CSS_SELECTOR, "#mtm-dashboards th a").click()
    assert browser.current_url == f"{live_server.url}/admin/surveys/round/{household_team.round.pk}/dashboard/"
    saved += shots(browser, f"dashboard-{language}")

    browser.find_element(By.CSS_SELECTOR, '#review-table a[href$="review=none"]').click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 3
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth") is True
    viewport = browser.execute_script("return document.documentElement.clientWidth")
    for column in ("submitted_by", "interview_date", "location_name", "review", "flag_list"):
        header = browser.find_element(By.CSS_SELECTOR, f"#result_list th.column-{column}")
        assert header.is_displayed() and header.rect["x"] + header.rect["width"] <= viewport, column
    saved += shots(browser, f"list-not-reviewed-{language}")

    short = household_team.with_members.instance_id.removeprefix("uuid:")[:8]
    browser.find_element(By.LINK_TEXT, short).click()
    labels = {"ru": ("Пол", "Женский", "Член семьи", "Возраст"), "en": ("Sex", "Female", "Household member", "Age")}
    question, choice, repeat, column = labels[language]
    assert text(browser, '.mtm-answer[data-path="resp/sex"] .q') == question
    assert text(browser, '.mtm-answer[data-path="resp/sex"] .a') == f"{choice} female"
    assert text(browser, ".mtm-repeat-title").startswith(repeat)
    assert [th.get_attribute("textContent") for th in browser.find_elements(
        By.CSS_SELECTOR, 'table.mtm-repeat[data-path="member"] th')] == ["#", column]
    assert [td.text for td in browser.find_elements(By.CSS_SELECTOR, 'table.mtm-repeat[data-path="member"] td')] \
        == ["1", "40", "2", "12"]
    saved += shots(browser, f"interview-{language}")

    browser.find_element(By.ID, "review-comment").send_keys("Household confirmed")
    browser.find_element(By.ID, "review-approved").click()
    assert browser.find_elements(By.CSS_SELECTOR, ".messagelist li")
    saved += shots(browser, f"interview-approved-{language}")

    after = counts(browser, live_server, household_team.round.pk)
    assert after == {"home": 2, "card": 2, "waiting": 2, "not_reviewed": 2, "approved": 1, "list": 2}
    saved += shots(browser, f"list-after-review-{language}")
    household_team.with_members.refresh_from_db()
    assert (household_team.with_members.review_status, household_team.with_members.reviewed_by.username) == (
        "approved", "sup1")
    assert all(p.stat().st_size > 10_000 for p in saved) and len(saved) == 12
