"""The fault suite (issue 13): a production-like MTM Collect (tests/stack.py: its own PostgreSQL cluster
and Redis, gunicorn with the production settings, a Celery worker with beat) under the faults a field
deployment meets. For each fault every interview a tablet sent is counted: each one acknowledged (201,
or 202 for one already received) is stored exactly once and processed, and no answer is a 5xx but the
503 that tells Collect to send again."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

import pytest
import requests

from tests.stack import Stack, Tablet, missing_parts, running_stack
from tests.submissions import instance_xml

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("faults")]
PHOTO = b"\xff\xd8" + os.urandom(30_000)  # a photo that does not compress: it takes its room on the disk


@pytest.fixture(scope="module")
def stack():
    missing = missing_parts()
    if missing:
        pytest.skip(f"the fault suite runs its own PostgreSQL and Redis: {missing}")
    with running_stack() as stack:
        yield stack


@pytest.fixture
def tablet(stack):
    return Tablet(stack.url)


def new_id(label: str) -> str:
    return f"uuid:{label}-{uuid.uuid4()}"


def send_in_background(tablet: Tablet, ids: list[str], every: float = 0.05, **kwargs) -> threading.Thread:
    def run():
        for instance_id in ids:
            tablet.post(instance_xml(instance_id=instance_id), instance_id, **kwargs)
            time.sleep(every)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def assert_each_acknowledged_is_stored_once_and_processed(stack: Stack, tablet: Tablet, ids: list[str]) -> None:
    acknowledged = [sent.instance_id for sent in tablet.log if sent.acknowledged]
    assert sorted(acknowledged) == sorted(ids), [s for s in tablet.log if not s.acknowledged]
    assert set(stack.rows(ids).values()) == {1}
    states = stack.wait_settled(ids)
    assert states == dict.fromkeys(ids, "processed")
    assert tablet.server_errors() == []


def test_the_stack_answers_as_production_does(stack, tablet):
    health = requests.get(f"{stack.url}/healthz", timeout=10)
    instance_id = new_id("first")

    sent = tablet.post(instance_xml(instance_id=instance_id), instance_id)

    assert health.status_code == 200
    assert sent.statuses == [201]
    assert stack.wait_settled([instance_id]) == {instance_id: "processed"}


def test_a_worker_killed_mid_task_loses_nothing(stack, tablet):
    ids = [new_id("worker") for _ in range(30)]
    sending = send_in_background(tablet, ids)
    while len(tablet.log) < 10:
        time.sleep(0.05)

    starts = stack.worker_starts
    stack.worker_kill()  # SIGKILL: the tasks it had taken die with it, unacknowledged; another is started
    sending.join()  # and its sweep sends again what waited longer than its grace
    # The supervisor starts another a second after the kill; the 20 posts left may all be answered sooner.
    deadline = time.monotonic() + 30
    while stack.worker_starts == starts and time.monotonic() < deadline:
        time.sleep(0.1)

    assert stack.worker_starts == starts + 1
    assert_each_acknowledged_is_stored_once_and_processed(stack, tablet, ids)


def test_redis_stopped_mid_ingest_every_post_is_still_201(stack, tablet):
    ids = [new_id("redis") for _ in range(30)]
    sending = send_in_background(tablet, ids, every=0.2)
    while len(tablet.log) < 8:
        time.sleep(0.05)

    stack.redis_stop()  # the broker and the login cache gone: interviews are still taken
    while len(tablet.log) < 20:
        time.sleep(0.05)
    down = requests.get(f"{stack.url}/healthz", timeout=30)
    stack.redis_start()
    sending.join()

    assert [sent.statuses for sent in tablet.log] == [[201]] * 30  # none had to be sent twice
    assert down.status_code == 200  # the server still stores interviews; the health check says what is down
    assert down.json() | {"database": "ok"} == {"status": "degraded", "database": "ok", "raw_store_key": "ok",
                                                "cache": "unreachable", "broker": "unreachable"}
    assert_each_acknowledged_is_stored_once_and_processed(stack, tablet, ids)


def test_postgresql_restarted_posts_get_503_then_are_stored_once(stack, tablet):
    ids = [new_id("pg") for _ in range(40)]
    sending = send_in_background(tablet, ids, every=0.05)
    while len(tablet.log) < 10:
        time.sleep(0.05)

    stack.postgres_restart()
    sending.join()

    assert_each_acknowledged_is_stored_once_and_processed(stack, tablet, ids)
    assert set(tablet.statuses()) <= {201, 202, 503}


def test_a_gunicorn_worker_killed_mid_request_loses_nothing_and_counts_nothing_twice(stack, tablet):
    ids = [new_id("web") for _ in range(40)]
    with ThreadPoolExecutor(4) as pool:
        posts = [pool.submit(tablet.post, instance_xml(instance_id=i), i, (("a.jpg", PHOTO),)) for i in ids]
        while len(tablet.log) < 12:
            time.sleep(0.02)
        victims = stack.web_workers()
        os.kill(victims[0], signal.SIGKILL)  # the master starts another; its requests were cut
        for post in posts:
            post.result()

    assert len(victims) == 2
    assert set(tablet.statuses()) <= {201, 202, "ConnectionError", "ChunkedEncodingError"}
    assert_each_acknowledged_is_stored_once_and_processed(stack, tablet, ids)
    photos = stack.sql("SELECT count(*) FROM surveys_submissionattachment a JOIN surveys_submission s "
                       "ON s.id = a.submission_id WHERE s.instance_id = ANY(%s)", ids)
    assert photos == [(40,)]


def test_twenty_identical_posts_at_once_store_one(stack, tablet):
    instance_id = new_id("same")
    xml = instance_xml(instance_id=instance_id)
    barrier = threading.Barrier(20)

    def post():
        barrier.wait()
        return tablet.post(xml, instance_id, resend=False).statuses

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(s for answer in pool.map(lambda _: post(), range(20)) for s in answer)

    assert statuses == [201] + [202] * 19
    assert stack.rows([instance_id]) == {instance_id: 1}
    assert stack.wait_settled([instance_id]) == {instance_id: "processed"}


def test_twenty_simultaneous_edits_keep_one_current_version(stack, tablet):
    original = new_id("edited")
    assert tablet.post(instance_xml(instance_id=original), original).statuses == [201]
    edits = [new_id("edit") for _ in range(20)]
    barrier = threading.Barrier(20)

    def edit(instance_id):
        barrier.wait()
        return tablet.post(instance_xml(instance_id=instance_id, q1="corrected", deprecated_id=original),
                           instance_id, resend=False).statuses[0]

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(edit, edits))

    assert sorted(statuses) == [201] + [409] * 19
    winner = edits[statuses.index(201)]
    assert stack.rows([original, *edits]) == {original: 1, **{e: int(e == winner) for e in edits}}
    assert stack.sql("SELECT instance_id FROM surveys_submission WHERE instance_id = ANY(%s) AND is_current",
                     [original, *edits]) == [(winner,)]
    assert stack.wait_settled([original, winner]) == {original: "processed", winner: "processed"}
    assert tablet.server_errors() == []


def test_a_poison_submission_is_marked_failed_and_the_queue_goes_on(stack, tablet):
    stack.sql("UPDATE surveys_round SET checks = '{\"timezone\": \"Mars/Olympus_Mons\"}'")  # a fault in a round
    poison = new_id("poison")
    assert tablet.post(instance_xml(instance_id=poison), poison).statuses == [201]
    assert stack.wait_settled([poison]) == {poison: "failed"}
    stack.sql("UPDATE surveys_round SET checks = '{}'")
    ids = [new_id("after") for _ in range(5)]
    for instance_id in ids:
        tablet.post(instance_xml(instance_id=instance_id), instance_id)

    assert stack.wait_settled(ids) == dict.fromkeys(ids, "processed")
    assert stack.sql("SELECT processing_error FROM surveys_submission WHERE instance_id = %s", poison) == [(
        "Processing stopped at the interview facts step (ZoneInfoNotFoundError); the server log has the details.",)]
    time.sleep(5)  # two sweeps later the failed one is still failed, not sent round and round
    assert stack.states([poison]) == {poison: "failed"}
    assert tablet.server_errors() == []


def test_a_full_disk_is_503_until_there_is_room_and_leaves_no_file(stack, tablet):
    if not stack.disk_mounted:
        pytest.skip("filling a disk needs a tmpfs of its own (mount, as root)")
    filler = stack.data_dir / "filler"
    files_before = _files(stack)
    with open(filler, "wb", buffering=0) as f:  # fill the disk to the last byte
        for size in (1 << 20, 4096, 1):
            with suppress(OSError):
                while f.write(b"\0" * size):
                    pass
    instance_id = new_id("full")
    xml = instance_xml(instance_id=instance_id, photo="a.jpg")

    refused = tablet.post(xml, instance_id, (("a.jpg", PHOTO),), resend=False)
    left = _files(stack)
    filler.unlink()
    resent = tablet.post(xml, instance_id, (("a.jpg", PHOTO),))

    assert refused.statuses == [503]
    assert left == files_before | {"filler"}  # nothing half-written behind the 503
    assert stack.rows([instance_id]) == {instance_id: 1}
    assert resent.statuses == [201]
    assert stack.wait_settled([instance_id]) == {instance_id: "processed"}


def _files(stack: Stack) -> set[str]:
    return {str(path.relative_to(stack.data_dir)) for path in stack.data_dir.rglob("*") if path.is_file()}
