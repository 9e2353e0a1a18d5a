"""Sending stored submissions round again: a failed one retried (:func:`surveys.services.processing.submissions_retry`),
encrypted ones whose key was given (:func:`surveys.services.form_keys.form_private_key_set`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from surveys.models import Submission
from surveys.services.counts import counts_kept


def submissions_pending_again(submissions: Iterable[Submission]) -> int:
    """Put each of ``submissions`` (rows locked by the caller) back to ``pending``, its counts in step, and
    enqueue it once the transaction commits. Returns how many."""
    count = 0
    for submission in submissions:
        with counts_kept(submission):
            submission.processing, submission.processing_error = Submission.Processing.PENDING, ""
            submission.save(update_fields=["processing", "processing_error", "updated_at"])
        _enqueue_on_commit(submission.pk)
        count += 1
    return count


def _enqueue_on_commit(submission_id: int) -> None:
    from surveys.tasks import submission_enqueue

    transaction.on_commit(lambda: submission_enqueue(submission_id), robust=True)
