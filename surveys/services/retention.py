"""The retention purge: after a round's ``privacy.retention_days``, the raw
store of its submissions (bodies and attachments) is removed; the
anonymised records stay. Each purge is logged by counts, never by respondent."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from surveys.models import RawPurge, Round, Submission, SubmissionAttachment
from surveys.round_settings import round_privacy_settings

log = logging.getLogger(__name__)


def raw_purge(*, now: dt.datetime | None = None) -> list[RawPurge]:
    """Purge every round whose retention period has passed for some of its
    submissions. Running it again purges nothing more."""
    now = now or timezone.now()
    purges = []
    for round_ in Round.objects.all():
        days = round_privacy_settings(round_).retention_days
        if days is None:
            continue
        purge = round_raw_purge(round_id=round_.pk, received_before=now - dt.timedelta(days=days))
        if purge is not None:
            purges.append(purge)
    return purges


@transaction.atomic
def round_raw_purge(*, round_id: int, received_before: dt.datetime) -> RawPurge | None:
    # Processed ones keep their anonymised record; failed ones and uploads that
    # never completed have none to keep, but their raw data may not stay either.
    # Pending ones wait for processing, and are purged at the next run after it.
    due = Submission.objects.select_for_update().filter(
        round_id=round_id, raw_purged_at__isnull=True, received_at__lt=received_before,
        processing__in=[Submission.Processing.PROCESSED, Submission.Processing.FAILED,
                        Submission.Processing.RECEIVING])
    ids = list(due.values_list("id", flat=True))
    if not ids:
        return None
    Submission.objects.filter(pk__in=ids, processing=Submission.Processing.RECEIVING).update(
        processing=Submission.Processing.FAILED, processing_error="Never completed; raw data purged.")
    attachments = list(SubmissionAttachment.objects.filter(submission_id__in=ids))
    for attachment in attachments:
        attachment.file.delete(save=False)
    SubmissionAttachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
    Submission.objects.filter(pk__in=ids).update(raw_body=b"", xml=None, raw_purged_at=timezone.now())
    purge = RawPurge.objects.create(round_id=round_id, submissions=len(ids), attachments=len(attachments),
                                    received_before=received_before)
    log.info("raw store purged for round %s: %s submissions, %s attachments received before %s",
             round_id, len(ids), len(attachments), received_before.isoformat())
    return purge
