"""ODK Central's ``reviewState`` on the review workflow: every change goes through
:func:`surveys.services.review.submission_review` (permission, team scope, audit entry).
``approved`` is approved, ``rejected`` not approved, ``hasIssues`` on hold (a person says it needs
attention: our *has issues* is the quality checks' own state); ``edited`` is the server's and cannot be
set, as in Central."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mtm.errors import InvalidInput
from surveys.models import Submission, SubmissionComment
from surveys.services.review import ReviewResult, submission_comment_add, submission_review

if TYPE_CHECKING:
    from enumerators.models import AnyUser

#: Central's review states a person may set, as ours.
SETTABLE = {"approved": Submission.Review.APPROVED, "rejected": Submission.Review.NOT_APPROVED,
            "hasIssues": Submission.Review.ON_HOLD}


class UnexpectedReviewState(InvalidInput):
    central_code = 400.8


def central_review_set(*, user: AnyUser, submission: Submission, review_state: Any) -> ReviewResult:
    """Set a submission's review state from Central's name (audited; setting the same state is a no-op)."""
    if not isinstance(review_state, str) or review_state not in SETTABLE:
        allowed = ", ".join(SETTABLE)
        raise UnexpectedReviewState(f"Unexpected reviewState value {review_state!r}; expected one of: {allowed}.")
    return submission_review(submission_id=submission.pk, status=SETTABLE[review_state], by=user)


def central_comment_add(*, user: AnyUser, submission: Submission, body: Any) -> SubmissionComment:
    """A comment on a submission (``{"body": …}``)."""
    if not isinstance(body, str):
        raise InvalidInput("Required parameter body missing.")
    return submission_comment_add(submission_id=submission.pk, by=user, text=body)
