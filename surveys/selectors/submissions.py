"""Reads on submissions: the user's scope of them, one by instanceID, the raw
ones for the data-protection role, and the counting rule of the round tables
(:data:`COUNTED`, :func:`submission_counts`)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from mtm.errors import Forbidden, NotFound
from surveys.selectors.scope import ensure_submission_viewer, may_open_raw, within_scope

if TYPE_CHECKING:
    from enumerators.models import AnyUser
    from surveys.models import Submission, SubmissionAttachment


def scoped_submissions(*, user: AnyUser) -> QuerySet[Submission]:
    """Every submission ``user`` may see, unordered and unjoined: the row-level
    rule in one place. A supervisor sees their team's submissions (the
    enumerators whose supervisor they are); others who may view submissions
    see all of them (anonymised; raw data stay behind
    :func:`submission_raw_for_user`)."""
    from surveys.models import Submission

    ensure_submission_viewer(user)
    return within_scope(Submission.objects.all(), user=user)


def submissions_for_user(*, user: AnyUser, form_id: str | None = None, validation: str | None = None,
                         flag: str | None = None, review: str | None = None,
                         current_only: bool = False) -> QuerySet[Submission]:
    """The submissions ``user`` may see (:func:`scoped_submissions`), newest
    first, filtered as asked. ``review="none"`` selects those without a review
    state; ``current_only`` leaves out versions replaced by an edit."""
    qs = (scoped_submissions(user=user).select_related("questionnaire__round", "submitted_by", "reviewed_by")
          .prefetch_related("flags").order_by("-received_at", "-id"))
    if form_id:
        qs = qs.filter(form_id=form_id)
    if current_only:
        qs = qs.filter(is_current=True)
    if validation:
        qs = qs.filter(validation=validation)
    if flag:
        qs = qs.filter(flags__check_name=flag)
    if review == "none":
        qs = qs.filter(review_status__isnull=True)
    elif review:
        qs = qs.filter(review_status=review)
    return qs


def submission_in_scope(*, user: AnyUser, submission_id: int) -> bool:
    """Whether this submission is within ``user``'s scope (their team's, for a
    supervisor); what they may do with it is a matter of permissions."""
    from surveys.models import Submission

    return within_scope(Submission.objects.filter(pk=submission_id), user=user).exists()


def submission_for_user(*, user: AnyUser, instance_id: str, form_id: str | None = None) -> Submission:
    qs = submissions_for_user(user=user, form_id=form_id).filter(instance_id=instance_id)
    found = list(qs[:2])
    if not found:
        raise NotFound(f"No submission '{instance_id}'.")
    if len(found) > 1:
        raise NotFound(f"'{instance_id}' names submissions of several forms; add ?form=<form_id>.")
    return found[0]


def submission_raw_for_user(*, user: AnyUser, instance_id: str, form_id: str | None = None) -> Submission:
    """A submission whose raw store the data-protection role may open."""
    if not may_open_raw(user):
        raise Forbidden("Raw data (bodies, attachments): only the data-protection role may open them.")
    return submission_for_user(user=user, instance_id=instance_id, form_id=form_id)


def submission_attachment_for_user(*, user: AnyUser, form_id: str, instance_id: str,
                                   filename: str) -> SubmissionAttachment:
    """An attachment, for the data-protection role: attachments (photos,
    recordings) belong to the raw store."""
    submission = submission_raw_for_user(user=user, instance_id=instance_id, form_id=form_id or None)
    attachment = submission.attachments.filter(filename=filename).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment


class JsonText(Cast):
    """A JSON column as its text, for reads of many rows that decode it with orjson (several times faster)."""

    def __init__(self, column: str) -> None:
        super().__init__(column, output_field=TextField())


#: The rule a submission counts by in its round's tables (see :func:`counted_submissions`).
#: Written without negations of nullable columns, so that it is never NULL and ``exclude(COUNTED)`` is its
#: exact complement.
COUNTED = (Q(is_current=True, answers__isnull=False)
           & (Q(review_status__isnull=True) | Q(review_status__in=["approved", "on_hold", "has_issues"]))
           & (Q(consent__isnull=True) | Q(consent=True))
           & (Q(validation="valid") | Q(review_status="approved")))


def counted_submissions(*, round_id: int, form_id: str | None = None) -> QuerySet[Submission]:
    """The submissions a round's tables, exports and risk figures count:
    current (not replaced by an edit), processed, not a refused interview,
    not rejected, and valid — or approved by a supervisor despite its
    problems. :func:`submission_counts` is the same rule for one row."""
    from surveys.models import Submission

    qs = Submission.objects.filter(COUNTED, round_id=round_id)
    return qs.filter(form_id=form_id) if form_id else qs


def submission_counts(submission: Submission) -> bool:
    """Whether one submission counts in its round's tables (the rule of :func:`counted_submissions`)."""
    from surveys.models import Submission

    return bool(submission.is_current and submission.answers is not None and submission.consent is not False
                and submission.review_status != Submission.Review.NOT_APPROVED
                and (submission.validation == Submission.Validation.VALID
                     or submission.review_status == Submission.Review.APPROVED))


def submissions_waiting() -> bool:
    """Whether any complete submission waits to be processed (locked by another transaction or not)."""
    from surveys.models import Submission

    return Submission.objects.filter(processing=Submission.Processing.PENDING, complete=True,
                                     raw_purged_at__isnull=True).exists()


def submissions_unprocessed(*, older_than: timedelta = timedelta(0), form_id: str | None = None) -> list[int]:
    """Ids of complete submissions still waiting, oldest first."""
    from surveys.models import Submission

    qs = Submission.objects.filter(processing=Submission.Processing.PENDING, complete=True,
                                   received_at__lte=timezone.now() - older_than)
    if form_id:
        qs = qs.filter(form_id=form_id)
    return list(qs.order_by("received_at", "id").values_list("id", flat=True))
