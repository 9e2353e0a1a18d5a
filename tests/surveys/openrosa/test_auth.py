"""Basic and Digest authentication on the OpenRosa endpoints."""

import base64
import time

import pytest
import requests
from lxml import etree
from requests.auth import HTTPDigestAuth

from surveys.openrosa import auth
from tests.factories import PASSWORD


def basic(username, password):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.mark.django_db
class TestChallenge:
    def test_no_credentials_gets_401_with_digest_and_basic_challenge(self, client, enumerator):
        response = client.get("/formList")

        assert response.status_code == 401
        challenge = response["WWW-Authenticate"]
        assert challenge.startswith('Digest realm="MTM Collect", qop="auth", algorithm=MD5, nonce="')
        assert ', Basic realm="MTM Collect", charset="UTF-8"' in challenge
        assert response["X-OpenRosa-Version"] == "1.0"
        message = etree.fromstring(response.content).findtext("{http://openrosa.org/http/response}message")
        assert message == "Authentication required."

    @pytest.mark.parametrize("header", [
        "Basic " + base64.b64encode(b"enum01:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:" + PASSWORD.encode()).decode(),
        "Basic !!!notbase64",
        "Bearer abc",
        'Digest username="enum01"',
    ])
    def test_wrong_credentials_get_401(self, client, enumerator, header):
        response = client.get("/formList", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Digest ")

    def test_basic_auth_with_the_right_password(self, client, enumerator):
        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 200

    def test_inactive_account_is_refused(self, client, enumerator):
        enumerator.user.is_active = False
        enumerator.user.save()
        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 401


@pytest.mark.django_db(transaction=True)
class TestDigestOverHttp:
    """A real HTTP client (requests' Digest implementation) against a live server."""

    def test_digest_login_downloads_the_form_list(self, live_server, enumerator):
        response = requests.get(f"{live_server.url}/formList", auth=HTTPDigestAuth("enum01", PASSWORD), timeout=10)

        assert response.status_code == 200
        assert b"<formID>household</formID>" in response.content

    def test_digest_with_wrong_password_is_refused(self, live_server, enumerator):
        response = requests.get(f"{live_server.url}/formList", auth=HTTPDigestAuth("enum01", "nope"), timeout=10)
        assert response.status_code == 401

    def test_digest_follows_a_password_change(self, live_server, enumerator):
        enumerator.user.set_password("new-pass-2")
        enumerator.user.save()
        old = requests.get(f"{live_server.url}/formList", auth=HTTPDigestAuth("enum01", PASSWORD), timeout=10)
        new = requests.get(f"{live_server.url}/formList", auth=HTTPDigestAuth("enum01", "new-pass-2"), timeout=10)
        assert (old.status_code, new.status_code) == (401, 200)


@pytest.mark.django_db
class TestDigestRules:
    def _authorization(self, client, *, nc="00000001", uri="/formList", password=PASSWORD, nonce=None):
        import hashlib

        if nonce is None:
            challenge = client.get("/formList")["WWW-Authenticate"]
            nonce = challenge.split('nonce="')[1].split('"')[0]
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
        ha1 = md5(f"enum01:MTM Collect:{password}")
        response = md5(f"{ha1}:{nonce}:{nc}:abcdef:auth:{md5(f'GET:{uri}')}")
        return (f'Digest username="enum01", realm="MTM Collect", nonce="{nonce}", uri="{uri}", '
                f'response="{response}", qop=auth, nc={nc}, cnonce="abcdef", algorithm=MD5'), nonce

    def test_a_replayed_nonce_count_is_refused(self, client, enumerator):
        header, nonce = self._authorization(client)
        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 200
        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 401
        header2, _ = self._authorization(client, nc="00000002", nonce=nonce)
        assert client.get("/formList", HTTP_AUTHORIZATION=header2).status_code == 200

    def test_uri_must_match_the_request(self, client, enumerator):
        header, _ = self._authorization(client, uri="/forms/household/form.xml")
        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 401

    def test_expired_nonce_is_answered_stale(self, client, enumerator, settings, monkeypatch):
        header, _ = self._authorization(client)
        later = time.time() + settings.OPENROSA_DIGEST_NONCE_SECONDS + 5
        monkeypatch.setattr(auth.time, "time", lambda: later)
        response = client.get("/formList", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert "stale=true" in response["WWW-Authenticate"]

    def test_forged_nonce_is_refused(self, client, enumerator):
        forged = base64.b64encode(f"{int(time.time())}:{'0' * 32}".encode()).decode()
        header, _ = self._authorization(client, nonce=forged)
        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 401


@pytest.mark.django_db
class TestRememberedBasicLogins:
    def test_a_password_change_ends_the_remembered_login(self, client, enumerator):
        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 200
        enumerator.user.set_password("changed-pass-3")
        enumerator.user.save()

        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 401
        assert client.get("/formList", **basic("enum01", "changed-pass-3")).status_code == 200

    def test_deactivation_ends_the_remembered_login(self, client, enumerator):
        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 200
        enumerator.user.is_active = False
        enumerator.user.save()
        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 401

    def test_the_password_hasher_runs_once_for_repeated_requests(self, client, enumerator, monkeypatch):
        from django.contrib.auth.hashers import MD5PasswordHasher

        calls = []
        original = MD5PasswordHasher.verify
        monkeypatch.setattr(MD5PasswordHasher, "verify", lambda self, p, e: calls.append(1) or original(self, p, e))
        for _ in range(3):
            assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 200
        assert len(calls) == 1


@pytest.mark.django_db
class TestDigestSwitchedOff:
    """MTM_OPENROSA_DIGEST=off (production behind HTTPS): Basic only."""

    def test_the_challenge_offers_basic_only(self, client, enumerator, settings):
        settings.OPENROSA_DIGEST = False

        response = client.get("/formList")

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="MTM Collect", charset="UTF-8"'

    def test_a_digest_header_is_refused_with_401(self, client, enumerator, settings):
        from tests.digest import digest_header, nonce_of

        nonce = nonce_of(client.get("/formList")["WWW-Authenticate"])
        settings.OPENROSA_DIGEST = False

        response = client.get("/formList", HTTP_AUTHORIZATION=digest_header(nonce=nonce, username="enum01",
                                                                           password=PASSWORD))

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="MTM Collect", charset="UTF-8"'
        message = etree.fromstring(response.content).findtext("{http://openrosa.org/http/response}message")
        assert message == "Digest authentication is switched off on this server: use Basic over HTTPS."

    def test_basic_still_works(self, client, enumerator, settings):
        settings.OPENROSA_DIGEST = False
        assert client.get("/formList", **basic("enum01", PASSWORD)).status_code == 200


@pytest.mark.django_db
class TestReplays:
    def _header(self, client, **kwargs):
        from tests.digest import digest_header, nonce_of

        nonce = nonce_of(client.get("/formList")["WWW-Authenticate"])
        return digest_header(nonce=nonce, username="enum01", password=PASSWORD, **kwargs)

    def test_a_header_without_qop_is_refused_after_its_first_use(self, client, enumerator):
        header = self._header(client, qop=False)

        first = client.get("/formList", HTTP_AUTHORIZATION=header)
        second = client.get("/formList", HTTP_AUTHORIZATION=header)

        assert (first.status_code, second.status_code) == (200, 401)
        assert "stale=true" in second["WWW-Authenticate"]
        message = etree.fromstring(second.content).findtext("{http://openrosa.org/http/response}message")
        assert message == "Digest nonce already used."

    def test_nonce_counts_outlive_a_cache_that_forgets(self, client, enumerator):
        """Redis restarted (its keys gone): a captured request is still refused."""
        from django.core.cache import cache

        header = self._header(client)
        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 200
        cache.clear()

        assert client.get("/formList", HTTP_AUTHORIZATION=header).status_code == 401

    def test_the_counts_of_stale_nonces_are_deleted(self, client, enumerator, monkeypatch):
        import datetime as dt

        from django.utils import timezone

        from enumerators.models import DigestNonceCount
        from enumerators.services import logins

        assert client.get("/formList", HTTP_AUTHORIZATION=self._header(client)).status_code == 200
        moved = timezone.now() + dt.timedelta(seconds=601)
        monkeypatch.setattr(logins.timezone, "now", lambda: moved)

        logins.digest_nonce_count_grows(nonce="another", cnonce="c", nc="00000001")

        assert DigestNonceCount.objects.count() == 1
