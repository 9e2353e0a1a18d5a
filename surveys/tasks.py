"""Celery tasks: take ids, call one service. Idempotent."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError as DatabaseOperationalError

from surveys.selectors.exports import exports_waiting
from surveys.selectors.submissions import submissions_unprocessed
from surveys.services.exports import record_export_run
from surveys.services.hooks.delivery import deliveries_resend_due, delivery_run
from surveys.services.hooks.failures import hook_failures_report
from surveys.services.processing import submission_process
from surveys.services.retention import raw_purge

log = logging.getLogger(__name__)


#: The cache key that says a processing task is queued (set by the first post after the task started).
PROCESSING_DUE_KEY = "surveys:processing-due"


@shared_task(name="surveys.submission_process", autoretry_for=(DatabaseOperationalError,), retry_backoff=True,
             max_retries=5, time_limit=120, soft_time_limit=100)
def submission_process_task(submission_id: int) -> str:
    """One submission (a batch of one): the eager mode, and messages queued before batches."""
    return submission_process(submission_id=submission_id).state


@shared_task(name="surveys.submissions_process", autoretry_for=(DatabaseOperationalError,), retry_backoff=True,
             max_retries=5, time_limit=300, soft_time_limit=280)
def submissions_process_task() -> int:
    """Process whatever waits, ``MTM_PROCESS_BATCH`` submissions per transaction, for at most
    ``MTM_PROCESS_TASK_SECONDS``; when more waits then, the task sends itself again. Returns how many it
    processed. The due mark is cleared first, so a post stored from then on enqueues a task again: none is
    left waiting. After each full batch it queues another task (unless one is queued), which a free process
    of the worker (``--concurrency``, the cores by default) or another worker takes: a backlog is shared.
    Idempotent: what is processed is not taken again; two workers share the queue (rows one holds are
    skipped by the other). Rows skipped because another transaction held them (a resend's
    check, another worker's batch) are taken by the task sent again a second later."""
    from surveys.selectors.submissions import submissions_waiting
    from surveys.services.processing import submissions_process_pending

    _due_clear()
    limit, done = settings.MTM_PROCESS_BATCH, 0
    deadline = time.monotonic() + settings.MTM_PROCESS_TASK_SECONDS
    while True:
        taken = len(submissions_process_pending(limit=limit))
        done += taken
        if taken < limit:
            if submissions_waiting():
                processing_due(countdown=1.0)
            return done
        # A full batch: more waits. Another task is queued (at most one: the mark), so that a worker's other
        # processes, or other workers, share a backlog; this one goes on until its time is up.
        processing_due()
        if time.monotonic() > deadline:
            return done


@shared_task(name="surveys.submissions_sweep", ignore_result=False, time_limit=300, soft_time_limit=280)
def submissions_sweep_task(grace_seconds: int | None = None) -> int:
    """Enqueue what is still unprocessed ``grace_seconds`` (default
    ``MTM_SWEEP_GRACE_SECONDS``) after it arrived: the broker or the worker
    was down when it was stored. REST deliveries overdue by
    ``MTM_HOOK_SWEEP_AFTER_SECONDS`` (their message was lost) are sent again too."""
    grace = settings.MTM_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds
    ids = submissions_unprocessed(older_than=timedelta(seconds=grace))
    for submission_id in ids:
        submission_enqueue(submission_id)
    for export_id in exports_waiting(older_than=timedelta(seconds=grace)):
        record_export_task.delay(export_id)
    overdue = timedelta(seconds=max(grace, settings.MTM_HOOK_SWEEP_AFTER_SECONDS))
    for delivery_id in deliveries_resend_due(overdue=overdue):
        hook_delivery_enqueue(delivery_id)
    return len(ids)


@shared_task(name="surveys.hook_failures_report", time_limit=600, soft_time_limit=580)
def hook_failures_report_task() -> int:
    """Daily: e-mail each REST service's failed deliveries to the people responsible for its form."""
    return hook_failures_report().messages


@shared_task(name="surveys.raw_purge", time_limit=3600, soft_time_limit=3500)
def raw_purge_task() -> int:
    """Daily: remove raw data past each round's retention period."""
    return sum(p.submissions for p in raw_purge())


def submission_enqueue(submission_id: int, *, alone: bool = False) -> bool:
    """Have the (pending) submission processed; never raise. With a broker, processing is marked due
    (:func:`processing_due`: a batch takes it with whatever else waits); without one (eager), or ``alone``
    (one already processed, sent again: files merged into it), it is processed by a task of its own, a
    batch of one. With the broker unreachable the submission stays pending for the sweep."""
    from mtm.celery import app

    if not (alone or app.conf.task_always_eager):
        return processing_due()
    try:
        submission_process_task.delay(submission_id)
    except Exception:
        log.exception("could not process submission %s now; the sweep will retry", submission_id)
        return False
    return True


def processing_due(countdown: float = 0) -> bool:
    """Enqueue the batch task unless one is queued already (one ``SET NX`` in the cache under load, not a
    message per post); never raise. Without the cache, the task is sent anyway."""
    try:
        first = cache.add(PROCESSING_DUE_KEY, 1, timeout=settings.MTM_PROCESS_DUE_SECONDS)
    except Exception:  # noqa: BLE001 - the cache down: a task per post rather than none
        first = True
    if not first:
        return True
    try:
        if countdown:
            submissions_process_task.apply_async(countdown=countdown)
        else:
            submissions_process_task.delay()
    except Exception:
        log.exception("could not enqueue processing now; the sweep will retry")
        _due_clear()
        return False
    return True


def _due_clear() -> None:
    try:
        cache.delete(PROCESSING_DUE_KEY)
    except Exception:  # noqa: BLE001 - the mark then expires by itself
        log.warning("could not clear the processing mark in the cache")


@shared_task(name="surveys.record_export", autoretry_for=(DatabaseOperationalError,), retry_backoff=True,
             max_retries=3, time_limit=1800, soft_time_limit=1750)
def record_export_task(export_id: int) -> str:
    """Write a record export's file (idempotent: a complete export is left alone)."""
    return record_export_run(export_id=export_id).status


@shared_task(name="surveys.hook_deliver", autoretry_for=(DatabaseOperationalError,), retry_backoff=True,
             max_retries=5, time_limit=120, soft_time_limit=100)
def hook_deliver_task(delivery_id: int) -> str:
    """One attempt of a REST service's delivery (on the hooks' own queue); the retries enqueue themselves."""
    from surveys.presentation.hook_payload import hook_payload

    return delivery_run(delivery_id=delivery_id, render=hook_payload).status


def hook_delivery_enqueue(delivery_id: int, countdown: float = 0) -> bool:
    """Send a delivery to the hooks' queue (``MTM_HOOK_QUEUE``), after ``countdown`` seconds; never raise
    (with the broker unreachable it stays pending for the sweep). Without a broker it runs on the process's
    background thread (:mod:`surveys.background`), or in line where ``MTM_HOOK_IN_PROCESS`` says so (tests)."""
    from mtm.celery import app

    try:
        if app.conf.task_always_eager:
            if settings.MTM_HOOK_IN_PROCESS == "inline":
                if countdown:
                    time.sleep(countdown)
                hook_deliver_task.apply(args=(delivery_id,))
            else:
                from surveys.background import background_deliveries

                background_deliveries().submit(delivery_id, countdown=countdown)
        else:
            hook_deliver_task.apply_async(args=(delivery_id,), countdown=countdown,
                                          queue=settings.MTM_HOOK_QUEUE)
    except Exception:
        log.exception("could not send REST delivery %s now; the sweep will retry", delivery_id)
        return False
    return True
