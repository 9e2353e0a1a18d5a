"""The review workflow, as KoboToolbox and ODK Central have it: approved,
not approved, on hold — and has issues, set by the system when a submission
fails validation or a quality check. Every change is an audit entry;
rejected submissions are kept (never deleted) and left out of reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mtm.errors import Forbidden, InvalidInput
from surveys.models import ReviewEvent, Submission, SubmissionComment
from surveys.selectors.submissions import submission_in_scope
from surveys.services.counts import counts_kept

if TYPE_CHECKING:
    from enumerators.models import AnyUser, User

Review = Submission.Review
#: What people may set; ``has_issues`` is the system's, ``None`` clears the state.
HUMAN_STATES = {Review.APPROVED, Review.NOT_APPROVED, Review.ON_HOLD, None}


@dataclass(frozen=True)
class ReviewResult:
    submission: Submission
    changed: bool


def _may_review(user: AnyUser | None) -> TypeGuard[User]:
    return bool(user and user.is_active and (user.is_superuser or user.has_perm("surveys.review_submission")))


@transaction.atomic
def submission_review(*, submission_id: int, status: str | None, by: AnyUser | None,
                      comment: str = "") -> ReviewResult:
    """Set the review state of a submission (``None`` clears it). Setting the
    state it has already changes nothing (a comment is still kept)."""
    if not _may_review(by):
        raise Forbidden(_("This account may not review submissions."))
    if not submission_in_scope(user=by, submission_id=submission_id):
        raise Forbidden(_("This submission is not of your team."))
    if status not in HUMAN_STATES:
        allowed = ", ".join(sorted(s for s in HUMAN_STATES if s))
        raise InvalidInput(_("'%(status)s' is not a review state; use one of: %(allowed)s (or null to clear).")
                           % {"status": status, "allowed": allowed})
    submission = Submission.objects.select_for_update(of=("self",)).select_related("questionnaire", "round").get(
        pk=submission_id)
    comment = comment.strip()
    if comment:
        SubmissionComment.objects.create(submission=submission, author=by, text=comment)
    if submission.review_status == status:
        return ReviewResult(submission, changed=False)
    with counts_kept(submission):
        _record(submission, status, actor=by, comment=comment)
    return ReviewResult(submission, changed=True)


@transaction.atomic
def submission_comment_add(*, submission_id: int, by: AnyUser | None, text: str) -> SubmissionComment:
    if not _may_review(by):
        raise Forbidden(_("This account may not comment on submissions."))
    if not submission_in_scope(user=by, submission_id=submission_id):
        raise Forbidden(_("This submission is not of your team."))
    if not text.strip():
        raise InvalidInput(_("A comment needs some text."))
    return SubmissionComment.objects.create(submission_id=submission_id, author=by, text=text.strip())


def review_after_checks(*, submission: Submission, issues: list[str]) -> bool:
    """The system's own review step after processing (inside its transaction):
    a submission with problems or flags and no human decision gets
    ``has_issues``; one whose issues are gone (after an edit) loses it.
    A human decision is never overridden."""
    event = review_after_checks_planned(submission=submission, issues=issues)
    if event is None:
        return False
    event.save()
    submission.save(update_fields=REVIEW_FIELDS)
    return True


#: The submission's fields a review changes.
REVIEW_FIELDS = ["review_status", "reviewed_by", "reviewed_at", "updated_at"]


def review_after_checks_planned(*, submission: Submission, issues: list[str]) -> ReviewEvent | None:
    """:func:`review_after_checks` for a batch: the submission's review fields (:data:`REVIEW_FIELDS`) are
    changed in memory and the audit entry returned unsaved, for the batch to write them in bulk; None when
    nothing changes."""
    if issues and submission.review_status is None:
        return _change(submission, Review.HAS_ISSUES, actor=None, comment="; ".join(issues))
    if not issues and submission.review_status == Review.HAS_ISSUES:
        return _change(submission, None, actor=None, comment="No issues left.")
    return None


def _record(submission: Submission, status: str | None, *, actor: User | None, comment: str) -> None:
    _change(submission, status, actor=actor, comment=comment).save()
    submission.save(update_fields=REVIEW_FIELDS)


def _change(submission: Submission, status: str | None, *, actor: User | None, comment: str) -> ReviewEvent:
    event = ReviewEvent(submission=submission, actor=actor, from_status=submission.review_status,
                        to_status=status, comment=comment)
    submission.review_status = status
    submission.reviewed_by = actor
    submission.reviewed_at = submission.updated_at = timezone.now()
    return event
