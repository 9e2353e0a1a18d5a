"""Submissions against the real services: PostgreSQL's unique constraint under
concurrent posts, the real worker processing after commit, and a broker
outage survived by the sweep."""

import threading
import time
from contextlib import contextmanager

import pytest
import requests
from django.db import connection

from mtm.celery import app
from surveys.models import Submission
from surveys.tasks import submissions_sweep_task
from tests.factories import PASSWORD
from tests.submissions import household_xml, instance_xml, new_instance_id

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def post(url, xml, files=()):
    parts = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    parts += [(name, (name, content, "image/jpeg")) for name, content in files]
    return requests.post(f"{url}/submission", files=parts, auth=("enum01", PASSWORD), timeout=60)


def wait_processed(instance_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = Submission.objects.filter(instance_id=instance_id).values_list("processing", flat=True).first()
        if state == "processed":
            return state
        time.sleep(0.2)
    return Submission.objects.filter(instance_id=instance_id).values_list("processing", flat=True).first()


@contextmanager
def broker_unreachable():
    """Point the Celery client at a closed port, as when Redis is down."""
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.amqp._producer_pool = None
    app._pool = None
    try:
        yield
    finally:
        app.conf.broker_url = saved
        app.amqp._producer_pool = None
        app._pool = None


def test_twenty_concurrent_identical_posts_store_one_row(live_server, enumerator, celery_worker_process):
    assert connection.vendor == "postgresql"
    instance_id = new_instance_id()
    xml = instance_xml(form_id="household", version="2024050101", instance_id=instance_id)
    barrier = threading.Barrier(20)
    codes = []

    def send():
        barrier.wait()
        codes.append(post(live_server.url, xml).status_code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(codes) == [201] + [202] * 19
    assert Submission.objects.filter(instance_id=instance_id).count() == 1
    assert wait_processed(instance_id) == "processed"


def test_the_real_worker_processes_after_commit(live_server, enumerator, celery_worker_process):
    instance_id = new_instance_id()
    response = post(live_server.url, household_xml(instance_id=instance_id, age="44"))
    assert response.status_code == 201
    assert wait_processed(instance_id) == "processed"
    sub = Submission.objects.get(instance_id=instance_id)
    assert (sub.validation, sub.answers["resp/age"]) == ("valid", 44)


def test_a_post_while_the_broker_is_down_is_stored_and_swept_later(live_server, enumerator, celery_worker_process):
    instance_id = new_instance_id()
    with broker_unreachable():
        response = post(live_server.url, instance_xml(form_id="household", version="2024050101",
                                                      instance_id=instance_id))
    assert response.status_code == 201
    time.sleep(1.0)
    assert Submission.objects.get(instance_id=instance_id).processing == "pending"

    swept = submissions_sweep_task.delay(grace_seconds=0).get(timeout=30)

    assert swept >= 1
    assert wait_processed(instance_id) == "processed"
