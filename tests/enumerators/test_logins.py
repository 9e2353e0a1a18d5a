"""Password guessing: failed logins counted per account and per client address on every login entry point
(OpenRosa Basic and Digest, the admin's login form), locked accounts refused in each protocol's form, every
lockout audited — never the password."""

import datetime as dt
import logging

import pytest
from django.utils import timezone
from lxml import etree

from enumerators.models import LoginFailureCount, LoginLockout
from enumerators.services import logins
from mtm.client_address import client_address
from tests.clients import token_client
from tests.digest import digest_header, nonce_of
from tests.factories import PASSWORD, UserFactory
from tests.submissions import auth

LOCKED = "Too many failed logins for this account or from this address: try again in 1 min."


def message(response):
    return etree.fromstring(response.content).findtext("{http://openrosa.org/http/response}message")


def later(monkeypatch, seconds):
    """Move the clock of the login service forward."""
    moved = timezone.now() + dt.timedelta(seconds=seconds)
    monkeypatch.setattr(logins.timezone, "now", lambda: moved)


@pytest.mark.django_db
class TestOpenRosaBasic:
    def test_the_sixth_attempt_after_five_wrong_passwords_is_429_even_with_the_right_one(self, client, enumerator):
        codes = [client.get("/formList", **auth(password=f"guess-{n}")).status_code for n in range(5)]

        locked = client.get("/formList", **auth())

        assert codes == [401] * 5
        assert locked.status_code == 429
        assert message(locked) == LOCKED
        assert locked["Retry-After"] == "60"
        assert locked["X-OpenRosa-Version"] == "1.0"
        assert "WWW-Authenticate" not in locked

    def test_the_lockout_is_audited_without_the_password(self, client, enumerator, caplog):
        with caplog.at_level(logging.INFO, logger="enumerators.services.logins"):
            for n in range(5):
                client.get("/formList", **auth(password=f"guess-{n}"))

        lockout = LoginLockout.objects.get()
        assert (lockout.scope, lockout.account, lockout.address, lockout.entry, lockout.failures) == (
            "account", "enum01", "127.0.0.1", "openrosa-basic", 5)
        assert lockout.until - lockout.at == dt.timedelta(seconds=60)
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "guess-" not in logged + str(list(LoginLockout.objects.values()))
        assert "Login lockout: account 'enum01' locked for 60 s after 5 failed logins" in logged

    def test_four_wrong_passwords_then_the_right_one_logs_in(self, client, enumerator):
        for n in range(4):
            client.get("/formList", **auth(password=f"guess-{n}"))
        assert client.get("/formList", **auth()).status_code == 200
        assert not LoginLockout.objects.exists()

    def test_the_lock_ends_and_the_next_failure_locks_twice_as_long(self, client, enumerator, monkeypatch):
        for n in range(5):
            client.get("/formList", **auth(password=f"guess-{n}"))
        later(monkeypatch, 61)

        wrong = client.get("/formList", **auth(password="guess-5"))
        locked = client.get("/formList", **auth())

        assert (wrong.status_code, locked.status_code, locked["Retry-After"]) == (401, 429, "120")
        assert message(locked) == "Too many failed logins for this account or from this address: try again in 2 min."

    def test_attempts_while_locked_are_not_counted(self, client, enumerator):
        for n in range(8):
            client.get("/formList", **auth(password=f"guess-{n}"))
        assert LoginFailureCount.objects.get(scope="account", key="enum01").failures == 5
        assert LoginLockout.objects.count() == 1

    def test_a_quiet_window_forgets_the_failures(self, client, enumerator, monkeypatch):
        for n in range(4):
            client.get("/formList", **auth(password=f"guess-{n}"))
        later(monkeypatch, 901)

        client.get("/formList", **auth(password="guess-4"))

        assert LoginFailureCount.objects.get(scope="account", key="enum01").failures == 1
        assert client.get("/formList", **auth()).status_code == 200

    def test_a_remembered_login_is_not_an_attempt(self, client, enumerator):
        """A tablet already signed in keeps sending while someone else guesses."""
        assert client.get("/formList", **auth()).status_code == 200
        for n in range(5):
            client.get("/formList", **auth(password=f"guess-{n}"), REMOTE_ADDR="10.9.9.9")

        assert client.get("/formList", **auth()).status_code == 200


@pytest.mark.django_db
class TestOpenRosaDigest:
    def _get(self, client, password):
        nonce = nonce_of(client.get("/formList")["WWW-Authenticate"])
        return client.get("/formList", HTTP_AUTHORIZATION=digest_header(nonce=nonce, username="enum01",
                                                                        password=password))

    def test_five_wrong_digests_lock_the_account(self, client, enumerator):
        codes = [self._get(client, f"guess-{n}").status_code for n in range(5)]
        locked = self._get(client, PASSWORD)

        assert codes == [401] * 5
        assert (locked.status_code, message(locked)) == (429, LOCKED)
        assert LoginLockout.objects.get().entry == "openrosa-digest"

    def test_a_stale_or_malformed_header_is_not_a_guess(self, client, enumerator):
        for _ in range(6):
            client.get("/formList", HTTP_AUTHORIZATION='Digest username="enum01"')
        assert not LoginFailureCount.objects.exists()
        assert self._get(client, PASSWORD).status_code == 200


@pytest.mark.django_db
class TestAddresses:
    def test_twenty_failures_from_one_address_lock_it_for_every_account(self, client, enumerator):
        for n in range(20):
            client.get("/formList", **auth(username=f"nobody{n}", password="x"), REMOTE_ADDR="10.0.0.7")

        from_there = client.get("/formList", **auth(), REMOTE_ADDR="10.0.0.7")
        from_elsewhere = client.get("/formList", **auth(), REMOTE_ADDR="10.0.0.8")

        assert (from_there.status_code, from_elsewhere.status_code) == (429, 200)
        assert LoginLockout.objects.get().scope == "address"

    def test_a_success_does_not_reset_another_address_count(self, client, enumerator):
        for n in range(3):
            client.get("/formList", **auth(password=f"guess-{n}"), REMOTE_ADDR="10.0.0.7")

        assert client.get("/formList", **auth(), REMOTE_ADDR="10.0.0.8").status_code == 200

        counts = dict(LoginFailureCount.objects.values_list("key", "failures"))
        assert counts == {"enum01": 3, "10.0.0.7": 3}

    def test_behind_a_trusted_proxy_the_forwarded_address_counts(self, rf, settings):
        settings.MTM_TRUSTED_PROXIES = 1
        request = rf.get("/formList", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8")
        assert client_address(request) == "5.6.7.8"
        settings.MTM_TRUSTED_PROXIES = 0
        assert client_address(request) == "10.0.0.1"


@pytest.mark.django_db
class TestAdminLogin:
    def _login(self, client, password):
        return client.post("/admin/login/?next=/admin/", {"username": "coordinator", "password": password})

    def test_five_wrong_passwords_lock_the_admin_login_with_a_message(self, client):
        UserFactory(username="coordinator", is_staff=True, is_superuser=True)
        wrong = [self._login(client, f"guess-{n}") for n in range(5)]

        locked = self._login(client, PASSWORD)

        assert [r.status_code for r in wrong] == [200] * 5
        assert "Please enter the correct username and password" in wrong[0].content.decode()
        assert locked.status_code == 200
        assert LOCKED in locked.content.decode()
        assert "_auth_user_id" not in client.session
        assert LoginLockout.objects.get().entry == "admin"
        assert self._login(client, PASSWORD).status_code == 200  # still locked: the form again

    def test_the_right_password_logs_in(self, client):
        UserFactory(username="coordinator", is_staff=True, is_superuser=True)
        assert self._login(client, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_wrong_api_token_is_not_a_password_guess(client):
    token_client("analyst")
    for _ in range(6):
        assert client.get("/api/v1/submissions/", HTTP_AUTHORIZATION="Token wrong").status_code == 401
    assert not LoginFailureCount.objects.exists()
