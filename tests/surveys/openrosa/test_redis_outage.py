"""Redis down never costs an interview: the cache on the request path is a shortcut that degrades to a
miss (mtm.cache), Digest nonce counts are in the database, and /healthz tells which dependency is down."""

import logging

import pytest
from django.test import override_settings

from surveys.models import Submission
from tests.digest import digest_header, nonce_of
from tests.factories import PASSWORD
from tests.submissions import auth, household_xml, multipart, new_instance_id

UNREACHABLE = {"default": {"BACKEND": "tests.caches.UnreachableCache"}}


@pytest.fixture
def cache_down():
    with override_settings(CACHES=UNREACHABLE):
        yield


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def send(xml, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/submission", data=multipart(xml), **headers)

    return send


@pytest.mark.django_db
class TestSubmissionsWithTheCacheDown:
    def test_a_basic_submission_is_201_and_stored_once(self, post, enumerator, cache_down):
        instance_id = new_instance_id()

        first = post(household_xml(instance_id=instance_id), **auth())
        again = post(household_xml(instance_id=instance_id), **auth())

        assert (first.status_code, again.status_code) == (201, 202)
        assert Submission.objects.filter(instance_id=instance_id).count() == 1

    def test_a_digest_submission_is_201(self, client, post, enumerator, cache_down):
        nonce = nonce_of(client.head("/submission")["WWW-Authenticate"])
        header = digest_header(nonce=nonce, username="enum01", password=PASSWORD, method="POST", uri="/submission")

        response = post(household_xml(), HTTP_AUTHORIZATION=header)

        assert response.status_code == 201

    def test_a_wrong_password_is_still_refused(self, post, enumerator, cache_down):
        response = post(household_xml(), **auth(password="wrong"))
        assert response.status_code == 401
        assert Submission.objects.count() == 0

    def test_the_outage_is_logged_once_not_per_request(self, client, enumerator, cache_down, caplog):
        with caplog.at_level(logging.WARNING, logger="mtm.cache"):
            codes = [client.get("/formList", **auth()).status_code for _ in range(3)]

        assert codes == [200, 200, 200]
        warnings = [r.getMessage() for r in caplog.records if r.name == "mtm.cache"]
        assert len(warnings) == 1
        assert warnings[0].startswith("The cache is unreachable (ConnectionError: Error 111 connecting")

    def test_a_password_change_saves_with_the_cache_down(self, client, enumerator, cache_down):
        user = enumerator.user
        user.set_password("changed-pass-4")
        user.save()

        assert client.get("/formList", **auth(password="changed-pass-4")).status_code == 200
        assert client.get("/formList", **auth()).status_code == 401


@pytest.mark.django_db
class TestHealthz:
    def test_everything_up(self, client, settings):
        response = client.get("/healthz")

        expected = {"status": "ok", "database": "ok", "raw_store_key": "ok", "cache": "ok"}
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            expected["broker"] = "ok"
        assert (response.status_code, response.json()) == (200, expected)

    def test_the_cache_down_is_degraded_but_200(self, client, cache_down):
        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["cache"] == "unreachable"

    def test_an_unusable_raw_store_key_is_503(self, client, settings):
        settings.MTM_RAW_KEY = "not-a-fernet-key"

        response = client.get("/healthz")

        assert response.status_code == 503
        assert response.json()["status"] == "down"
        assert response.json()["raw_store_key"] == "unreadable"

    def test_the_database_down_is_503(self, client, monkeypatch):
        from mtm import health

        monkeypatch.setattr(health, "database_probe", lambda: "unreachable")

        response = client.get("/healthz")

        assert response.status_code == 503
        assert (response.json()["status"], response.json()["database"]) == ("down", "unreachable")


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, on a port of its own (never the machine's Redis): its URL, and
    a function that stops it."""
    import os
    import shutil
    import signal
    import subprocess
    import time

    import redis

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    port = 8101 + int(worker.removeprefix("gw") or 0) % 9
    pidfile = tmp_path / "redis.pid"
    subprocess.run(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--daemonize", "yes", "--pidfile", str(pidfile), "--dir", str(tmp_path)], check=True)
    client = redis.Redis(port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

    def stop():
        """SIGTERM to the server this fixture started (its pid file), then wait until it has gone."""
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
            gone_by = time.monotonic() + 10
            while pidfile.exists() and time.monotonic() < gone_by:
                time.sleep(0.05)

    yield f"redis://127.0.0.1:{port}/0", stop
    stop()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_between_two_posts(live_server, enumerator, own_redis):
    import requests

    from enumerators import login_cache

    url, stop = own_redis
    caches = {"default": {"BACKEND": "mtm.redis_cache.RedisCache", "LOCATION": url,
                          "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}}}

    def send(xml):
        parts = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
        return requests.post(f"{live_server.url}/submission", files=parts, auth=("enum01", PASSWORD), timeout=30)

    with override_settings(CACHES=caches):
        assert send(household_xml()).status_code == 201
        import redis

        assert redis.Redis.from_url(url).keys("*basic-ok:*") != []  # the login was remembered in this Redis
        stop()
        login_cache._local.clear()  # the per-process copy would answer without asking Redis
        instance_id = new_instance_id()

        stored = send(household_xml(instance_id=instance_id))
        resent = send(household_xml(instance_id=instance_id))
        health = requests.get(f"{live_server.url}/healthz", timeout=30)

    assert (stored.status_code, resent.status_code) == (201, 202)
    assert Submission.objects.filter(instance_id=instance_id).count() == 1
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "database": "ok", "raw_store_key": "ok", "cache": "unreachable",
                             "broker": "ok"}
