"""End to end in headless Chromium (issue 18's done-when): ODK Web Forms served by MTM Collect.

- An enumerator logs in on a phone (390 × 844), switches to Russian and fills the demo questionnaire: a
  relevant follow-up appears, a constraint's message shows, the repeat gets two entries, a photo is
  attached; the interview is stored, processed as valid and counted.
- A supervisor on a tablet (768 × 1024) corrects one answer with a reason: the new version replaces the old
  in the tables, the old one is kept, the identifier fields of the raw version are unchanged, the audit
  shows the correction.
- A public link submits without login; a revoked link is refused.

Each step is saved at both sizes in var/screenshots/ (``webforms-<step>-<width>.png``)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.factories import PASSWORD

SHOTS = ROOT / "var" / "screenshots"
SIZES = ((390, 844), (768, 1024))
DEMO_FORM = ROOT / "surveys" / "demo" / "forms" / "mtm_kz_r4.md"
#: A 1 × 1 PNG, the photo of the place of the interview.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAA"
                       "AABJRU5ErkJggg==")
WEB_FORMS = ROOT / "webforms" / "node_modules" / "@getodk" / "web-forms" / "dist" / "index.js"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not WEB_FORMS.exists(), reason="ODK Web Forms is not installed: `make install` "
                                                                   "runs npm ci in webforms/")]


@pytest.fixture
def demo_team(transactional_db):
    """The demo questionnaire in open round 4 (the demo's checks and privacy settings); enum01 assigned,
    supervised by sup1; data-protection officer dpo."""
    from django.contrib.auth.models import Group

    from enumerators.roles import DATA_PROTECTION, SUPERVISORS
    from enumerators.services.roles import roles_ensure
    from surveys.locations_kz import ensure_kazakhstan
    from surveys.models import Location, Round
    from surveys.services.questionnaires import questionnaire_import
    from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory

    ensure_kazakhstan(Location)
    roles_ensure()
    round_ = RoundFactory()
    Round.objects.filter(pk=round_.pk).update(
        status=Round.Status.OPEN, sex_question="sex",
        checks={"location_field": "location/location", "ranges": {"age": [14, 80]}},
        privacy={"consent_field": "consent", "gps": "displace", "k": 3})
    form = questionnaire_import(source=DEMO_FORM.read_bytes(), filename="mtm_kz_r4.md", survey_slug="mtm-kz",
                                round_number=4).questionnaire
    supervisor = UserFactory(username="sup1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
    other = UserFactory(username="sup2", is_staff=True)
    other.groups.add(Group.objects.get(name=SUPERVISORS))
    dpo = UserFactory(username="dpo", is_staff=True)
    dpo.groups.add(Group.objects.get(name=DATA_PROTECTION))
    enumerator = EnumeratorFactory(user=UserFactory(username="enum01"), supervisor=supervisor)
    AssignmentFactory(enumerator=enumerator, round=form.round)
    return form


def shots(driver, step: str, size: tuple[int, int]) -> list[Path]:
    """The page at both sizes (the whole page's height), then back to the step's own size."""
    saved = []
    for width, height in SIZES:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
        full = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": min(max(int(full) + 1, height), 12000),
                                "deviceScaleFactor": 1, "mobile": width < 500})
        png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"webforms-{step}-{width}.png"
        path.write_bytes(base64.b64decode(png["data"]))
        saved.append(path)
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
    return saved


class WebForm:
    """ODK Web Forms' page, as a person uses it: questions found by their label."""

    def __init__(self, driver):
        from selenium.webdriver.common.by import By

        self.driver, self.by = driver, By
        driver.find_element(By.CSS_SELECTOR, "body[data-form-ready=true]")

    def question(self, label: str):
        return self.driver.find_element(
            self.by.XPATH, f"//div[contains(@class,'question-container')][.//label[contains(normalize-space(), "
                           f"\"{label}\")]]")

    def has_question(self, label: str) -> bool:
        self.driver.implicitly_wait(0)
        try:
            return bool(self.driver.find_elements(
                self.by.XPATH, f"//div[contains(@class,'question-container')]//label[contains(normalize-space(), "
                               f"\"{label}\")]"))
        finally:
            self.driver.implicitly_wait(5)

    def choose(self, label: str, option: str, nth: int = 0) -> None:
        container = self.driver.find_elements(
            self.by.XPATH, f"//div[contains(@class,'question-container')][.//label[contains(normalize-space(), "
                           f"\"{label}\")]]")[nth]
        container.find_element(self.by.XPATH, f".//label[contains(@class,'value-option')]"
                                              f"[normalize-space()=\"{option}\"]").click()

    def type(self, label: str, value: str, nth: int = 0) -> None:
        from selenium.webdriver.common.keys import Keys

        container = self.driver.find_elements(
            self.by.XPATH, f"//div[contains(@class,'question-container')][.//label[contains(normalize-space(), "
                           f"\"{label}\")]]")[nth]
        field = container.find_element(self.by.CSS_SELECTOR, "input, textarea")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(value)
        field.send_keys(Keys.TAB)

    def attach(self, label: str, path: Path) -> None:
        field = self.question(label).find_element(self.by.CSS_SELECTOR, "input[type=file]")
        self.driver.execute_script("arguments[0].style.display = 'block';", field)
        field.send_keys(str(path))

    def send_answering_the_rest(self, rounds: int = 8) -> None:
        """Press Send; Web Forms marks every required question left (never one the test answered): pick
        its first choice, and send again, until the page says the interview is sent."""
        for _ in range(rounds):
            self.driver.find_element(self.by.XPATH, "//div[contains(@class,'footer')]//button[normalize-space()"
                                                    "='Send']").click()
            time.sleep(0.5)
            for _wait in range(40):  # a send on its way: its answer first
                if self.driver.find_element(self.by.ID, "mtm-status").get_attribute("data-kind") != "info":
                    break
                time.sleep(0.25)
            kind = self.driver.find_element(self.by.ID, "mtm-status").get_attribute("data-kind")
            if kind in ("success", "error", "warning"):
                return
            self.driver.implicitly_wait(0)
            try:
                for container in self.driver.find_elements(self.by.CSS_SELECTOR, ".question-container.highlight"):
                    options = container.find_elements(self.by.CSS_SELECTOR, "label.value-option")
                    if options:
                        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", options[0])
                        options[0].click()
            finally:
                self.driver.implicitly_wait(5)
        raise AssertionError(self.driver.find_element(self.by.ID, "mtm-status").text or "not sent")


def log_in(driver, live_server, username: str, *, admin: bool = False) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{live_server.url}/{'admin' if admin else 'collect'}/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    # The login answered (its session cookie set) before the test navigates on: a page asked for at once
    # could cancel the login's post.
    WebDriverWait(driver, 20).until(lambda d: "/login/" not in d.current_url)


def switch_language(driver, language: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.CSS_SELECTOR, "#language-switch select[name=language]")).select_by_value(language)
    driver.find_element(By.CSS_SELECTOR, f'#language-switch option[value="{language}"][selected]')


def fill_demo_in_russian(driver, tmp_path: Path, size: tuple[int, int]) -> None:
    form = WebForm(driver)
    shots(driver, "1-form", size)
    assert not form.has_question("Область или город")
    form.choose("Вы согласны принять участие", "Да")
    assert form.has_question("Область или город")  # the groups relevant on consent appear
    form.choose("Область или город", "Алматинская область (KZ-19)")
    photo = tmp_path / "place.png"
    photo.write_bytes(PNG)
    form.attach("Фото места интервью", photo)
    form.type("Как вас зовут", "Айгуль")
    form.type("Номер телефона", "12")
    assert "Введите от 9 до 15 цифр без пробелов, можно начать с +." in form.question("Номер телефона").text
    shots(driver, "2-constraint", size)
    form.type("Номер телефона", "+77011234567")
    assert "Введите от 9 до 15 цифр" not in form.question("Номер телефона").text
    form.choose("Пол респондента", "Женский")
    form.type("Сколько вам полных лет", "34")
    assert not form.has_question("Какова ваша область образования")
    form.choose("самый высокий уровень образования", "Высшее образование короткого цикла")
    assert form.has_question("Какова ваша область образования")  # the relevant follow-up
    form.type("Сколько у вас иждивенцев", "2")
    driver.find_element(form.by.XPATH, "//button[starts-with(normalize-space(), 'Add') and "
                                       "contains(normalize-space(), 'Иждивенец')]").click()
    form.type("Возраст этого иждивенца", "9", nth=0)
    form.type("Возраст этого иждивенца", "41", nth=1)
    form.choose("Кем вам приходится этот иждивенец", "Сын или дочь", nth=0)
    form.choose("Кем вам приходится этот иждивенец", "Супруг / супруга", nth=1)
    shots(driver, "3-repeat", size)


def test_enumerator_fills_the_demo_questionnaire_on_a_phone_in_russian(live_server, demo_team, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from surveys.models import Submission
    from surveys.selectors.submissions import counted_submissions

    size = (390, 844)
    browser.set_window_size(*size)
    log_in(browser, live_server, "enum01")
    switch_language(browser, "ru")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    assert browser.find_element(By.CSS_SELECTOR, "#form-list a").get_attribute("data-form-id") == "mtm_kz_r4"
    shots(browser, "0-forms", size)
    browser.find_element(By.CSS_SELECTOR, "#form-list a").click()

    fill_demo_in_russian(browser, tmp_path, size)
    WebForm(browser).send_answering_the_rest()
    assert browser.find_element(By.ID, "mtm-status").text == "Отправлено. Спасибо: интервью сохранено."
    shots(browser, "4-sent", size)

    stored = Submission.objects.get()
    assert browser.execute_script("return document.body.dataset.lastSent") == stored.instance_id
    assert (stored.form_id, stored.submitted_by.username, stored.is_current) == ("mtm_kz_r4", "enum01", True)
    assert (stored.processing, stored.validation) == ("processed", "valid")
    assert list(stored.attachments.values_list("size", flat=True)) == [len(PNG)]
    answers = stored.answers
    assert answers["demographics/age"] == 34
    assert answers["demographics/edu_field"]
    assert [m["vulnerability/household_members/member_age"] for m in answers["vulnerability/household_members"]] \
        == [9, 41]
    assert "demographics/resp_name" not in answers  # an identifier: never outside the raw store
    assert list(counted_submissions(round_id=stored.round_id)) == [stored]
    # Nothing is left waiting on the device.
    assert browser.execute_script("return JSON.parse(localStorage.getItem('mtm-webform-outbox') || '[]')") == []


def _stored_interview(demo_team):
    """One interview of enum01, as Collect would have sent it (the demo's sample generator), processed."""
    from surveys.demo.sample import demo_instances
    from surveys.models import Submission
    from surveys.services.ingest import Sender, submission_ingest_xml
    from surveys.services.processing import submission_process
    from tests.factories import UserFactory

    enum01 = UserFactory._meta.model.objects.get(username="enum01")
    sample = next(i for i in demo_instances(count=40) if b"<consent>yes</consent>" in i.xml
                  and b"<resp_name>" in i.xml and b"<resp_name/>" not in i.xml)
    result = submission_ingest_xml(xml=sample.xml, sender=Sender(user=enum01))
    submission_process(submission_id=result.submission.pk)
    return Submission.objects.get(pk=result.submission.pk)


def test_supervisor_corrects_one_answer_on_a_tablet(live_server, demo_team, browser):
    from selenium.webdriver.common.by import By

    from surveys.models import Submission, SubmissionCorrection
    from surveys.selectors.submissions import counted_submissions
    from surveys.services.encrypted_submissions import submission_instance
    from surveys.services.instance import parse_instance

    original = _stored_interview(demo_team)
    raw_before = submission_instance(original)
    old_age = original.answers["demographics/age"]
    new_age = 20 if old_age != 20 else 21
    name_before = parse_instance(raw_before).findtext(".//{*}resp_name")
    size = (768, 1024)
    browser.set_window_size(*size)
    log_in(browser, live_server, "sup1", admin=True)
    switch_language(browser, "ru")
    browser.get(f"{live_server.url}/admin/surveys/submission/{original.pk}/change/")
    shots(browser, "5-interview", size)
    browser.find_element(By.ID, "correct-in-form").click()

    form = WebForm(browser)
    assert name_before not in browser.find_element(By.ID, "mtm-webform").text
    assert browser.execute_script("return document.getElementById('mtm-webform').innerHTML").count(name_before) == 0
    form.type("Сколько вам полных лет", str(new_age))
    browser.find_element(By.XPATH, "//div[contains(@class,'footer')]//button[normalize-space()='Send']").click()
    assert "причину" in browser.find_element(By.ID, "mtm-status").text  # a reason is required first
    assert Submission.objects.count() == 1
    browser.find_element(By.ID, "correction-reason").send_keys("Возраст записан неверно, уточнено по телефону")
    shots(browser, "6-correction", size)
    browser.find_element(By.XPATH, "//div[contains(@class,'footer')]//button[normalize-space()='Send']").click()
    browser.find_element(By.ID, "correction-history")  # on the new version's page
    shots(browser, "7-corrected", size)

    old, new = Submission.objects.get(pk=original.pk), Submission.objects.exclude(pk=original.pk).get()
    assert browser.current_url == f"{live_server.url}/admin/surveys/submission/{new.pk}/change/"
    assert (old.is_current, new.is_current, new.previous_id, new.deprecated_id) == (False, True, old.pk,
                                                                                   old.instance_id)
    assert new.submitted_by.username == "enum01"
    assert (new.processing, new.validation, new.answers["demographics/age"]) == ("processed", "valid", new_age)
    assert old.answers["demographics/age"] == old_age
    assert submission_instance(old) == raw_before  # the old version is kept as it was
    new_raw = parse_instance(submission_instance(new))
    assert new_raw.findtext(".//{*}resp_name") == name_before  # carried over on the server
    assert new_raw.findtext(".//{*}resp_phone") == parse_instance(raw_before).findtext(".//{*}resp_phone")
    assert list(counted_submissions(round_id=new.round_id)) == [new]
    correction = SubmissionCorrection.objects.get()
    assert (correction.submission_id, correction.replaced_id, correction.actor.username, correction.reason) == (
        new.pk, old.pk, "sup1", "Возраст записан неверно, уточнено по телефону")
    history = browser.find_element(By.ID, "correction-history").text
    assert "sup1" in history and "Возраст записан неверно" in history


def test_a_public_link_submits_without_login_and_a_revoked_one_is_refused(live_server, browser, transactional_db):
    from selenium.webdriver.common.by import By

    from surveys.models import PublicLink, Submission
    from surveys.services.public_links import public_link_create, public_link_revoke
    from surveys.services.questionnaires import questionnaire_import
    from tests.factories import RoundFactory, UserFactory
    from tests.forms import simple_form

    RoundFactory()
    questionnaire_import(source=simple_form(form_id="feedback", title="Feedback"), filename="feedback.md",
                         survey_slug="mtm-kz", round_number=4, allow_anonymous=True)
    admin = UserFactory(username="coordinator", is_superuser=True, is_staff=True)
    link = public_link_create(form_id="feedback", by=admin)
    size = (390, 844)
    browser.set_window_size(*size)
    browser.get(f"{live_server.url}/f/{link.token}/")
    form = WebForm(browser)
    form.type("Question one", "Сделано без входа")
    shots(browser, "8-public-link", size)
    form.send_answering_the_rest()
    assert browser.find_element(By.ID, "mtm-status").text == "Sent. Thank you: the interview is stored."

    stored = Submission.objects.get()
    assert (stored.form_id, stored.submitted_by) == ("feedback", None)
    # The link's page in the admin: the address and its QR code.
    browser.set_window_size(768, 1024)
    log_in(browser, live_server, "coordinator", admin=True)
    browser.get(f"{live_server.url}/admin/surveys/publiclink/{link.pk}/change/")
    assert browser.find_element(By.ID, "public-link-url").text == f"{live_server.url}/f/{link.token}/"
    browser.find_element(By.CSS_SELECTOR, "#public-link-qr svg")
    shots(browser, "8-public-link-admin", (768, 1024))
    browser.delete_all_cookies()
    browser.set_window_size(*size)
    public_link_revoke(link_id=link.pk, by=admin)
    browser.get(f"{live_server.url}/f/{link.token}/")
    assert browser.find_element(By.ID, "refused").text == "This link has been revoked."
    shots(browser, "9-revoked", size)
    assert PublicLink.objects.get().revoked_by == admin
    assert Submission.objects.count() == 1


def test_a_draft_survives_a_reload_and_an_interrupted_send_is_sent_again_once(live_server, photo_form, browser):
    """On a phone: a half-filled interview is restored after a reload (its instanceID kept); sent without a
    connection it waits on the device, and reaches the server once the browser is back online — a second
    delivery of it at the next visit (its answer lost) is the server's 202, nothing duplicated."""
    from selenium.webdriver.common.by import By

    from surveys.models import Submission

    size = (390, 844)
    browser.set_window_size(*size)
    log_in(browser, live_server, "enum01")
    browser.get(f"{live_server.url}/collect/fill/simple/")
    form = WebForm(browser)
    form.type("Question one", "Черновик")
    time.sleep(1.5)  # drafts are kept every second
    draft = browser.execute_script("return JSON.parse(localStorage.getItem(document.getElementById("
                                   "'mtm-webform-config').textContent.match(/\"draftKey\": \"([^\"]+)\"/)[1]))")
    browser.refresh()
    form = WebForm(browser)
    assert form.question("Question one").find_element(By.CSS_SELECTOR, "input, textarea").get_attribute(
        "value") == "Черновик"
    assert browser.find_element(By.ID, "mtm-draft").is_displayed()
    shots(browser, "10-draft-restored", size)

    browser.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    form.type("Age", "33")
    form.send_answering_the_rest()
    assert browser.find_element(By.ID, "mtm-status").get_attribute("data-kind") == "warning"
    shots(browser, "11-kept-offline", size)
    waiting = browser.execute_script("return JSON.parse(localStorage.getItem('mtm-webform-outbox'))")
    assert [entry["id"] for entry in waiting] == [draft["instanceID"]]
    assert not Submission.objects.exists()

    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": False})
    for _ in range(40):  # back online: the page sends what waits
        if browser.find_element(By.ID, "mtm-status").get_attribute("data-kind") == "success":
            break
        time.sleep(0.25)
    assert browser.find_element(By.ID, "mtm-status").text == "Sent. Thank you: the interview is stored."
    stored = Submission.objects.get()
    assert (stored.instance_id, stored.submitted_by.username) == (draft["instanceID"], "enum01")
    assert browser.execute_script("return localStorage.getItem('mtm-webform-outbox')") == "[]"

    # The server's answer was lost: the device sends the same interview again.
    browser.execute_script("localStorage.setItem('mtm-webform-outbox', JSON.stringify(arguments[0]))", waiting)
    browser.refresh()
    WebForm(browser)
    for _ in range(40):
        if browser.find_element(By.ID, "mtm-status").get_attribute("data-kind") == "success":
            break
        time.sleep(0.25)
    assert browser.find_element(By.ID, "mtm-status").text == "Already received: nothing was duplicated."
    assert Submission.objects.count() == 1
    shots(browser, "12-sent-once", size)
