"""Scale-out on the engines already used (issue 16, item 4): two workers with different host names, each
with a data folder of its own (nothing is read from a local disk the other host cannot see), share one
round's queue through PostgreSQL and Redis only. Their batches run at the same time (rows one holds are
skipped by the other); every interview is processed exactly once and the round's tallies and dashboard
counts equal a rebuild."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from enumerators.models import User
from mtm.celery import app
from surveys.models import ReviewEvent, Submission
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.progress import round_progress_rebuild
from surveys.services.questionnaires import questionnaire_import
from surveys.services.tallies import round_tally_rebuild
from surveys.tasks import submissions_process_task
from tests.conftest import ROOT, SERVICES, workers_stopped
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import form_bytes
from tests.surveys.test_processing_faults import counts
from tests.surveys.test_tallies_services import report_xml

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

HOSTS = ("host-a", "host-b")


@pytest.fixture
def two_workers(django_db_setup, django_db_blocker, tmp_path):
    """Two ``celery worker`` processes named for two hosts, a data folder each, batches of 4."""
    if not SERVICES:
        pytest.skip("no REDIS_URL: the embedded default runs tasks eagerly")
    queue = f"mtm-test-scale-{os.getpid()}"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    procs, nodes = [], []
    log = open(ROOT / "var" / "test-scale-out-workers.log", "w")
    for host in HOSTS:
        (tmp_path / host).mkdir()
        env = {**os.environ, "DATABASE_URL": f"{base}/{connection.settings_dict['NAME']}",
               "MTM_CELERY_QUEUE": queue, "DJANGO_SETTINGS_MODULE": "mtm.settings.test",
               "MTM_CACHE_PREFIX": settings.CACHES["default"].get("KEY_PREFIX") or "mtm",
               "MTM_DATA_DIR": str(tmp_path / host), "MTM_PROCESS_BATCH": "4"}
        nodes.append(f"{queue}@{host}")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mtm", "worker", "-Q", queue, "-n", nodes[-1], "--pool",
             "prefork", "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    saved = app.conf.task_default_queue
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE = queue
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(destination=nodes, timeout=1.0)) < len(nodes):
            assert time.monotonic() < deadline, "the two workers did not answer within 60 s"
            assert all(p.poll() is None for p in procs), "a worker exited; see var/test-scale-out-workers.log"
        yield nodes
    finally:
        app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE = saved
        workers_stopped(procs, django_db_blocker)
        log.close()


def test_two_workers_on_two_hosts_process_one_round_and_the_tallies_equal_a_rebuild(two_workers):
    assert connection.vendor == "postgresql"
    round_ = RoundFactory(number=4)
    questionnaire_import(source=form_bytes("report.md"), filename="report.md", survey_slug="mtm-kz", round_number=4)
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=round_)
    sender = Sender(user=User.objects.get(username="enum01"))

    subs = [submission_ingest_xml(xml=report_xml(n), sender=sender).submission for n in range(48)]
    for _ in HOSTS:  # a task for each worker besides those the posts enqueued: their batches overlap
        submissions_process_task.delay()
    deadline = time.monotonic() + 120
    while Submission.objects.filter(processing="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    states = list(Submission.objects.filter(pk__in=[s.pk for s in subs]).values_list("processing", "tallied"))
    assert states == [("processed", True)] * 48
    # Each interview processed once: one system review entry at most, never two.
    assert not ReviewEvent.objects.values("submission").annotate(n=Count("id")).filter(n__gt=1).exists()
    live = counts(round_.pk)
    assert live[0] and live[1]
    assert dict(((d, g, p, v), n) for d, g, p, v, n, *_ in live[0])[("", "", "", "@n")] == 48
    assert dict(((d, g, p, v), n) for d, g, p, v, n, *_ in live[0])[("", "", "age", "sums")] == 48
    round_tally_rebuild(round_id=round_.pk)
    round_progress_rebuild(round_id=round_.pk)
    assert counts(round_.pk) == live
