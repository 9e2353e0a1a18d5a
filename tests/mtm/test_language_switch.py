"""The interface language of the admin: the browser's by default, the header's switch (Django's set_language
at /i18n/setlang/) remembered on the account, so that the next login — a new session, another browser — opens
in it; the APIs stay in English."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from enumerators.models import User
from enumerators.services.accounts import user_language_set
from mtm.errors import InvalidInput
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def coordinator(db):
    return UserFactory(username="coordinator", is_staff=True, is_superuser=True)


def login(user: User, **headers: str) -> Client:
    """A new browser: logs in through the admin's own form."""
    browser = Client(**headers)
    response = browser.post("/admin/login/", {"username": user.username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    return browser


def html_lang(response) -> str:
    return re.search(r'<html lang="([\w-]+)"', response.content.decode()).group(1)


@pytest.mark.django_db
class TestTheSwitch:
    def test_the_header_has_the_switch_posting_to_set_language(self, coordinator):
        page = login(coordinator).get("/admin/").content.decode()
        form = re.search(r'<form id="language-switch" action="([^"]+)" method="post">(.*?)</form>', page, re.S)
        assert form.group(1) == "/i18n/setlang/"
        assert re.findall(r'<option value="(\w+)"', form.group(2)) == ["en", "ru", "kk"]
        assert '<select name="language" id="language-select"' in form.group(2)
        assert '<input name="next" type="hidden" value="/admin/">' in form.group(2)

    def test_the_switch_is_on_the_login_page_too(self, db):
        page = Client().get("/admin/login/").content.decode()
        assert 'id="language-switch"' in page

    def test_switching_remembers_the_choice_on_the_account(self, coordinator):
        browser = login(coordinator)
        response = browser.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"})
        assert (response.status_code, response["Location"]) == (302, "/admin/")
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
        assert User.objects.get(pk=coordinator.pk).language == "ru"
        page = browser.get("/admin/")
        assert html_lang(page) == "ru"
        assert "Сбор данных и проверка" in page.content.decode()  # the site's index title, in Russian

    def test_the_next_login_in_another_browser_gets_it(self, coordinator):
        login(coordinator).post("/i18n/setlang/", {"language": "kk", "next": "/admin/"})
        other = login(coordinator, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")  # a new session, no cookie
        page = other.get("/admin/")
        assert (html_lang(page), page["Content-Language"]) == ("kk", "kk")
        assert "Деректер жинау және тексеру" in page.content.decode()
        assert other.cookies[settings.LANGUAGE_COOKIE_NAME].value == "kk"  # set at login: the logout page keeps it

    def test_the_browsers_language_by_default(self, coordinator):
        browser = login(coordinator, HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.8")
        assert html_lang(browser.get("/admin/")) == "ru"
        assert html_lang(Client(HTTP_ACCEPT_LANGUAGE="kk-KZ").get("/admin/login/")) == "kk"
        assert html_lang(Client(HTTP_ACCEPT_LANGUAGE="de").get("/admin/login/")) == "en"
        assert User.objects.get(pk=coordinator.pk).language == ""

    def test_the_accounts_language_wins_over_the_browsers(self, coordinator):
        user_language_set(user_id=coordinator.pk, language="kk")
        assert html_lang(login(coordinator, HTTP_ACCEPT_LANGUAGE="ru").get("/admin/")) == "kk"

    def test_a_language_the_interface_lacks_changes_nothing(self, coordinator):
        browser = login(coordinator)
        response = browser.post("/i18n/setlang/", {"language": "de", "next": "/admin/"})
        assert response.status_code == 302
        assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
        assert User.objects.get(pk=coordinator.pk).language == ""

    def test_switching_before_logging_in_keeps_the_cookie_only(self, db):
        response = Client().post("/i18n/setlang/", {"language": "ru", "next": "/admin/login/"})
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
        assert not User.objects.exclude(language="").exists()

    def test_a_get_is_refused(self, coordinator):
        assert login(coordinator).get("/i18n/setlang/?language=ru").status_code == 405

    def test_the_api_answers_in_english_whatever_the_account_chose(self, coordinator):
        user_language_set(user_id=coordinator.pk, language="ru")
        browser = login(coordinator, HTTP_ACCEPT_LANGUAGE="ru")
        response = browser.get("/api/v1/rounds/999999/report")
        assert (response.status_code, response.json()) == (404, {"detail": "No round 999999."})
        assert response["Content-Language"] == "en"


@pytest.mark.django_db
class TestUserLanguageSet:
    def test_twice_changes_once(self, coordinator):
        assert user_language_set(user_id=coordinator.pk, language="ru") is True
        assert user_language_set(user_id=coordinator.pk, language="ru") is False
        assert User.objects.get(pk=coordinator.pk).language == "ru"

    def test_blank_goes_back_to_the_browsers(self, coordinator):
        user_language_set(user_id=coordinator.pk, language="kk")
        assert user_language_set(user_id=coordinator.pk, language="") is True
        assert User.objects.get(pk=coordinator.pk).language == ""

    def test_an_unknown_language_is_refused_and_nothing_changes(self, coordinator):
        user_language_set(user_id=coordinator.pk, language="kk")
        with pytest.raises(InvalidInput, match=r"'de' is not an interface language\."):
            user_language_set(user_id=coordinator.pk, language="de")
        assert User.objects.get(pk=coordinator.pk).language == "kk"

    def test_the_admin_can_set_an_accounts_language(self, coordinator):
        page = login(coordinator).get(f"/admin/enumerators/user/{coordinator.pk}/change/").content.decode()
        assert re.search(r'<select name="language"[^>]* id="id_language">\s*<option value="" selected>', page)
