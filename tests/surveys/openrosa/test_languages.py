"""What Collect shows an enumerator is in the tablet's language (``Accept-Language``), else the account's
own (``User.language``), else English; KoBo-style JSON posts, an API's answers, stay in English."""

import pytest

from enumerators.models import User
from surveys.models import Submission
from tests.factories import UserFactory
from tests.submissions import auth, instance_xml, multipart
from tests.surveys.openrosa.test_submission import message

RU = "Эта учётная запись не назначена на форму «simple»."
KK = "Бұл тіркелгі «simple» формасына тағайындалмаған."
EN = "This account is not assigned to form 'simple'."


@pytest.fixture
def outsider(photo_form):
    """An enumerator's account that is not assigned to the form ``simple``."""
    return UserFactory(username="enum02")


def refused(client, *, language="", accept=None):
    account = User.objects.get(username="enum02")
    account.language = language
    account.save()  # as the admin saves it: a remembered Basic login ends with any change to the account
    headers = auth("enum02") | ({"HTTP_ACCEPT_LANGUAGE": accept} if accept is not None else {})
    return client.post("/submission", multipart(instance_xml()), **headers)


@pytest.mark.django_db
class TestRefusedPostLanguage:
    def test_accept_language_ru_gets_the_403_message_in_russian(self, client, outsider):
        response = refused(client, accept="ru-RU,ru;q=0.9,en;q=0.5")
        assert (response.status_code, message(response)) == (403, ("error", RU))
        assert Submission.objects.count() == 0

    def test_without_accept_language_the_enumerators_own_language(self, client, outsider):
        response = refused(client, language="kk")
        assert (response.status_code, message(response)) == (403, ("error", KK))

    def test_the_tablets_language_wins_over_the_accounts(self, client, outsider):
        response = refused(client, language="kk", accept="ru")
        assert message(response) == ("error", RU)

    def test_a_language_the_interface_lacks_falls_back_to_the_accounts_then_english(self, client, outsider):
        assert message(refused(client, language="ru", accept="de-DE,fr;q=0.8")) == ("error", RU)
        assert message(refused(client, accept="de-DE")) == ("error", EN)

    def test_no_language_anywhere_is_english(self, client, outsider):
        assert message(refused(client)) == ("error", EN)

    def test_a_wrong_password_is_answered_in_the_tablets_language(self, client, photo_form):
        response = client.post("/submission", multipart(instance_xml()), HTTP_ACCEPT_LANGUAGE="kk",
                               **auth(password="wrong"))
        assert (response.status_code, message(response)) == (401, ("error", "Пайдаланушы аты немесе құпиясөз қате."))

    def test_success_is_answered_in_the_tablets_language(self, client, photo_form, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/submission", multipart(instance_xml()), HTTP_ACCEPT_LANGUAGE="ru", **auth())
        assert (response.status_code, message(response)) == (201, ("submit_success", "Интервью полностью загружено!"))

    def test_a_kobo_json_post_stays_in_english(self, client, outsider):
        body = {"id": "simple", "submission": {"q1": "x", "meta": {"instanceID": "uuid:json-ru-1"}}}
        response = client.post("/submission", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ru",
                               **auth("enum02"))
        assert (response.status_code, response.json()) == (403, {"error": EN})

    def test_the_response_says_its_language(self, client, outsider):
        assert refused(client, accept="ru")["Content-Language"] == "ru"
