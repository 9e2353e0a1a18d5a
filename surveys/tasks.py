"""Celery tasks: take ids, call one service. Idempotent."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError as DatabaseOperationalError

from surveys.selectors.exports import exports_waiting
from surveys.selectors.submissions import submissions_unprocessed
from surveys.services.exports import record_export_run
from surveys.services.hooks.delivery import deliveries_resend_due, delivery_run
from surveys.services.hooks.failures import hook_failures_report
from surveys.services.processing import submission_process
from surveys.services.retention import raw_purge

log = logging.getLogger(__name__)


@shared_task(name="surveys.submission_process", autoretry_for=(DatabaseOperationalError,), retry_backoff=True,
             max_retries=5, time_limit=120, soft_time_limit=100)
def submission_process_task(submission_id: int) -> str:
    return submission_process(submission_id=submission_id).state


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


def submission_enqueue(submission_id: int) -> bool:
    """Send the processing task; never raise. With the broker unreachable
    the submission stays pending for the sweep."""
    try:
        submission_process_task.delay(submission_id)
    except Exception:
        log.exception("could not process submission %s now; the sweep will retry", submission_id)
        return False
    return True


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
