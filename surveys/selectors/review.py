"""What waits for a person's review, and where each received interview stands
against the round's count: one definition, read by the admin's home page, the
collection dashboard (from the running counts, :class:`ProgressCount`) and the
submission list's filters (from the rows), so that they show the same numbers.

*Waiting for review*: the current version of an interview that no person has
decided on — never reviewed, or marked *has issues* by the checks (or by a
person). On hold, approved and not approved are decisions.

*Standing*: every current interview is in exactly one of: counted (in the
round's tables and towards the targets — :data:`surveys.selectors.submissions.COUNTED`),
not processed yet, refused consent, rejected (not approved), or invalid and not
approved by a supervisor. Received = the sum of the five.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet, Sum, TextChoices
from django.utils.translation import gettext_lazy as _

from surveys.selectors.submissions import scoped_submissions

if TYPE_CHECKING:
    from enumerators.models import AnyUser
    from surveys.models import Submission

#: Review states (as the running counts keep them: ``""`` for never reviewed) that wait for a person.
WAITING_STATES: tuple[str, ...] = ("", "has_issues")


def waiting_q(prefix: str = "") -> Q:
    """Submissions waiting for review (``prefix`` for a lookup through a relation, e.g. ``submission__``)."""
    states = [s for s in WAITING_STATES if s]
    return Q(**{f"{prefix}is_current": True}) & (Q(**{f"{prefix}review_status__isnull": True})
                                                 | Q(**{f"{prefix}review_status__in": states}))


def is_waiting(review_status: str | None) -> bool:
    """Whether a review state (``None`` or ``""``: never reviewed) waits for a person."""
    return (review_status or "") in WAITING_STATES


def waiting_for_review(*, user: AnyUser, round_id: int | None = None) -> QuerySet[Submission]:
    """The submissions within ``user``'s scope that wait for review (in one round, if given)."""
    qs = scoped_submissions(user=user).filter(waiting_q())
    return qs.filter(round_id=round_id) if round_id is not None else qs


def waiting_by_round(*, user: AnyUser, round_ids: list[int]) -> dict[int, int]:
    """How many interviews wait for review in each of these rounds, within ``user``'s scope, from the
    running counts (one query, whatever the rounds' sizes)."""
    from surveys.selectors.progress import scoped_progress_counts

    rows = (scoped_progress_counts(user=user).filter(round_id__in=round_ids, review_status__in=WAITING_STATES)
            .values_list("round_id").annotate(n=Sum("count")).order_by())
    found = dict(rows)
    return {pk: found.get(pk, 0) for pk in round_ids}


class Standing(TextChoices):
    """Where a current interview stands against the round's count (one of five, in this order)."""

    COUNTED = "counted", _("Counted")
    UNPROCESSED = "unprocessed", _("Not processed yet")
    REFUSED = "refused", _("Refused consent")
    REJECTED = "rejected", _("Rejected (not approved)")
    INVALID = "invalid", _("Invalid, not approved")


_PROCESSED = ~Q(validation="pending")
_CONSENTED = Q(consent__isnull=True) | Q(consent=True)
_NOT_REJECTED = Q(review_status__isnull=True) | Q(review_status__in=["approved", "on_hold", "has_issues"])

#: The rows of each standing (current versions only); disjoint, and together every current submission.
STANDING_Q: dict[str, Q] = {
    Standing.COUNTED: Q(is_current=True) & _PROCESSED & _CONSENTED & _NOT_REJECTED
    & (Q(validation="valid") | Q(review_status="approved")),
    Standing.UNPROCESSED: Q(is_current=True, validation="pending"),
    Standing.REFUSED: Q(is_current=True, consent=False) & _PROCESSED,
    Standing.REJECTED: Q(is_current=True, review_status="not_approved") & _PROCESSED & _CONSENTED,
    Standing.INVALID: Q(is_current=True, validation="invalid") & _CONSENTED
    & (Q(review_status__isnull=True) | Q(review_status__in=["on_hold", "has_issues"])),
}


def cell_standing(*, validation: str, refused: bool, review_status: str) -> Standing:
    """The standing of the interviews of one running-count cell (the rule of :data:`STANDING_Q`)."""
    if validation == "pending":
        return Standing.UNPROCESSED
    if refused:
        return Standing.REFUSED
    if review_status == "not_approved":
        return Standing.REJECTED
    if validation == "valid" or review_status == "approved":
        return Standing.COUNTED
    return Standing.INVALID
