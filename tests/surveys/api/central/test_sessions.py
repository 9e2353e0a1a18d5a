"""``POST /v1/sessions`` (username or e-mail), bearer tokens kept as hashes that expire, logout, Basic
auth, and logins counted by the lockout service — every refusal in Central's shape, nothing stored."""

from __future__ import annotations

import datetime as dt
import hashlib

from rest_framework.test import APIClient

from enumerators.models import CentralSession, LoginFailureCount, LoginLockout
from tests.surveys.api.central.conftest import PASSWORD, account, basic

AUTH_FAILED = {"code": 401.2, "message": "Could not authenticate with the provided credentials."}


def login(client: APIClient, email: str, password: str = PASSWORD):
    return client.post("/v1/sessions", {"email": email, "password": password}, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_session_by_username_or_e_mail_gives_a_token_kept_only_as_its_hash(analyst):
    by_name = login(APIClient(), "analyst1")
    by_mail = login(APIClient(), "ANALYST1@mtm.example.org")
    token = by_name.json()["token"]
    me = bearer(token).get("/v1/users/current")

    assert (by_name.status_code, by_mail.status_code) == (200, 200)
    assert set(by_name.json()) == {"createdAt", "expiresAt", "token", "csrf"}
    created = dt.datetime.fromisoformat(by_name.json()["createdAt"])
    expires = dt.datetime.fromisoformat(by_name.json()["expiresAt"])
    assert expires - created == dt.timedelta(hours=24)
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("id", "type", "email")} == {"id": analyst.pk, "type": "user",
                                                                 "email": "analyst1@mtm.example.org"}
    stored = list(CentralSession.objects.values_list("token_sha256", flat=True))
    assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored


def test_an_expired_token_and_a_closed_one_are_refused(analyst):
    token = login(APIClient(), "analyst1").json()["token"]
    other = login(APIClient(), "analyst1").json()["token"]
    CentralSession.objects.filter(token_sha256=hashlib.sha256(other.encode()).hexdigest()).update(
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), expires_at=dt.datetime(2024, 1, 2, tzinfo=dt.UTC))

    expired = bearer(other).get("/v1/users/current")
    logout = bearer(token).delete(f"/v1/sessions/{token}")
    after = bearer(token).get("/v1/users/current")
    again = APIClient()
    again.credentials(HTTP_AUTHORIZATION=basic("analyst1"))
    twice = again.delete(f"/v1/sessions/{token}")

    assert (expired.status_code, expired.json()) == (401, AUTH_FAILED)
    assert (logout.status_code, logout.json()) == (200, {"success": True})
    assert (after.status_code, after.json()) == (401, AUTH_FAILED)
    assert (twice.status_code, twice.json()["code"]) == (404, 404.1)


def test_logout_of_another_accounts_session_is_refused_and_keeps_it(analyst):
    account("analyst2", "Analysts")
    theirs = login(APIClient(), "analyst2").json()["token"]
    mine = login(APIClient(), "analyst1").json()["token"]

    refused = bearer(mine).delete(f"/v1/sessions/{theirs}")

    assert (refused.status_code, refused.json()["code"]) == (403, 403.1)
    assert bearer(theirs).get("/v1/users/current").status_code == 200


def test_wrong_password_missing_fields_and_field_staff_are_refused_with_nothing_stored(analyst, enumerator):
    enumerator.user.set_password(PASSWORD)
    enumerator.user.save()

    wrong = login(APIClient(), "analyst1", "not-it")
    unknown = login(APIClient(), "nobody@mtm.example.org")
    missing = APIClient().post("/v1/sessions", {"email": "analyst1"}, format="json")
    not_json = APIClient().post("/v1/sessions", "{", content_type="application/json")
    staff = login(APIClient(), "enum01")

    assert (wrong.status_code, wrong.json()) == (401, AUTH_FAILED)
    assert (unknown.status_code, unknown.json()) == (401, AUTH_FAILED)
    assert (missing.status_code, missing.json()) == (400, {"code": 400.2,
                                                           "message": "Required parameter password missing."})
    assert (not_json.status_code, not_json.json()["code"]) == (400, 400.1)
    assert (staff.status_code, staff.json()) == (401, AUTH_FAILED)
    assert CentralSession.objects.count() == 0
    assert LoginFailureCount.objects.get(scope="account", key="analyst1").failures == 1


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(analyst):
    for _ in range(5):
        login(APIClient(), "analyst1", "not-it")

    locked = login(APIClient(), "analyst1")
    basic_client = APIClient()
    basic_client.credentials(HTTP_AUTHORIZATION=basic("analyst1"))
    by_basic = basic_client.get("/v1/projects")

    assert locked.status_code == 429 and locked.json()["code"] == 429
    assert int(locked["Retry-After"]) == 60
    assert by_basic.status_code == 429
    assert CentralSession.objects.count() == 0
    assert list(LoginLockout.objects.values_list("account", "entry")) == [("analyst1", "central-session")]


def test_basic_auth_and_no_auth(analyst):
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=basic("analyst1", "not-it"))
    garbled = APIClient()
    garbled.credentials(HTTP_AUTHORIZATION="Basic !!!")
    right = APIClient()
    right.credentials(HTTP_AUTHORIZATION=basic("analyst1@mtm.example.org"))

    anonymous = APIClient().get("/v1/projects")

    assert (anonymous.status_code, anonymous.json()) == (401, AUTH_FAILED)
    assert anonymous["WWW-Authenticate"] == 'Basic realm="ODK Central", charset="UTF-8"'
    assert (wrong.get("/v1/projects").status_code, garbled.get("/v1/projects").status_code) == (401, 401)
    assert right.get("/v1/users/current").json()["id"] == analyst.pk


def test_a_nul_byte_is_refused_in_centrals_shape_before_any_view(analyst):
    response = APIClient().post("/v1/sessions", '{"email": "analyst1\\u0000", "password": "x"}',
                                content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (400, 400.8)
    assert "NUL" in response.json()["message"]
    assert LoginFailureCount.objects.count() == 0
