"""Shared fixtures. With REDIS_URL set (`make test-services`) a real Celery
worker is started for the session against the test database and stopped at
the end; tests marked ``services`` use it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from surveys.services.questionnaires import questionnaire_import
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import form_bytes

ROOT = Path(__file__).resolve().parent.parent
SERVICES = bool(os.environ.get("REDIS_URL"))
#: This process's pytest-xdist worker ("gw0", "gw1", …), or "" without xdist.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


#: Debian's chromium and chromium-driver, for the tests marked ``browser``.
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser():
    """Debian's headless chromium through chromedriver (the tests marked ``browser``), English by default."""
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


def pytest_collection_modifyitems(config, items):
    skip_services = pytest.mark.skip(reason="needs PostgreSQL + Redis + a Celery worker: run `make test-services`")
    skip_browser = pytest.mark.skip(
        reason="needs Debian's chromium and chromium-driver (not found on PATH): `apt-get install -y chromium "
               "chromium-driver`, which `make test-services` and .ci/run do where they are missing")
    for item in items:
        if "services" in item.keywords and not SERVICES:
            item.add_marker(skip_services)
        if "browser" in item.keywords and not (CHROMIUM and CHROMEDRIVER):
            item.add_marker(skip_browser)


@pytest.fixture(scope="session", autouse=True)
def _cache_keys_of_this_worker():
    """Under pytest-xdist with the services, the workers share one Redis cache while each has its own
    test database: remembered logins (same usernames, other ids) must not cross between them."""
    if not (SERVICES and XDIST_WORKER):
        yield
        return
    from django.test import override_settings

    default = settings.CACHES["default"]
    default = {**default, "KEY_PREFIX": f"{default.get('KEY_PREFIX', '')}-test-{XDIST_WORKER}"}
    with override_settings(CACHES={**settings.CACHES, "default": default}):
        yield


@pytest.fixture(autouse=True)
def _fresh_login_cache():
    """Accounts are re-created with the same passwords (and, on PostgreSQL,
    new ids) in every test: no remembered login may outlive its test, nor a
    cache outage another test simulated."""
    from enumerators import login_cache
    from mtm import cache

    cache.reset()
    login_cache.forget_all()
    yield
    cache.reset()
    login_cache.forget_all()


@pytest.fixture(autouse=True)
def _no_processing_mark():
    """No test starts with another's "processing due" mark in the cache (tasks.processing_due): a mark left
    by a test whose workers are gone would keep the next test's posts from enqueueing a batch until it
    expires."""
    if SERVICES:
        from django.core.cache import cache

        from surveys.tasks import PROCESSING_DUE_KEY

        try:
            cache.delete(PROCESSING_DUE_KEY)
        except Exception:  # noqa: BLE001 - a test that stopped Redis: nothing to clear
            pass
    yield


@pytest.fixture(autouse=True)
def _language_of_the_test():
    """Each request activates its own language (mtm.locale) and leaves it active in its thread, as Django's
    LocaleMiddleware does; a test that then calls a service or a form directly speaks the default language,
    whatever the test before it asked for."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _tasks_in_process_unless_services(request):
    """Tests not marked ``services`` run tasks in-process even under
    `make test-services` (their data is in an uncommitted test transaction a
    worker cannot see); ``services`` tests use the real worker."""
    from mtm.celery import app

    if "services" in request.keywords:
        yield
        return
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def household(db):
    """The household test form imported into round 4 of the MTM survey."""
    RoundFactory()
    return questionnaire_import(source=form_bytes("household.md"), filename="household.md",
                                survey_slug="mtm-kz", round_number=4).questionnaire


@pytest.fixture
def photo_form(db):
    """The simple test form with a photo question, in round 4, and enum01 assigned to it."""
    from tests.forms import simple_form
    from tests.submissions import PHOTO_FORM_ROWS

    RoundFactory()
    q = questionnaire_import(source=simple_form(extra_rows=PHOTO_FORM_ROWS), filename="simple.md",
                             survey_slug="mtm-kz", round_number=4).questionnaire
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
    return q


@pytest.fixture
def enumerator(db, household):
    """An active enumerator assigned to the household form's round."""
    assignment = AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")),
                                   round=household.round)
    return assignment.enumerator


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real ``celery worker`` process on the test database and a queue of
    this run's own, started after the test database exists. Under pytest-xdist
    each worker process starts its own (database, queue, node name and log)."""
    if not SERVICES:
        pytest.skip("no REDIS_URL: the embedded default runs tasks eagerly")
    from django.db import connection

    queue = f"mtm-test-{os.getpid()}"
    name = connection.settings_dict["NAME"]
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    # The worker shares this process's cache keys (``_cache_keys_of_this_worker``): the processing-due mark
    # a post sets here is the one the worker's batch task clears (tasks.processing_due).
    env = {**os.environ, "DATABASE_URL": f"{base}/{name}", "MTM_CELERY_QUEUE": queue,
           "DJANGO_SETTINGS_MODULE": "mtm.settings.test",
           "MTM_CACHE_PREFIX": settings.CACHES["default"].get("KEY_PREFIX") or "mtm"}
    node = f"{queue}@{socket.gethostname()}"
    log_path = ROOT / "var" / f"test-worker{'-' + XDIST_WORKER if XDIST_WORKER else ''}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mtm", "worker", "-Q", queue, "-n", node, "--pool", "prefork",
         "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    # REST deliveries: their own queue and worker, as in production (`make hook-worker`).
    hooks = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mtm", "worker", "-Q", f"{queue}-hooks", "-n", f"{queue}-hooks@"
         f"{socket.gethostname()}", "--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    from mtm.celery import app

    app.conf.task_default_queue = queue
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    settings.MTM_HOOK_QUEUE = f"{queue}-hooks"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}; see {log_path}")
        if app.control.ping(destination=[node], timeout=1.0):  # this worker, not another run's
            break
    else:
        proc.terminate()
        hooks.terminate()
        raise RuntimeError(f"celery worker did not answer within 60 s; see {log_path}")
    yield proc
    workers_stopped([proc, hooks], django_db_blocker)
    log.close()


def workers_stopped(procs, django_db_blocker) -> None:
    """Stop worker processes (terminated, killed after 20 s) and end the test database's connections their
    children may still hold, so that the database can be dropped."""
    from django.db import connection

    for worker in procs:
        worker.terminate()
    for worker in procs:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
