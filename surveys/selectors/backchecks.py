"""A round's back-checks as supervisors see them: the original's interview date and location, its enumerator,
and the comparison — never an answer or an identifier."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from surveys.models import BackCheck
from surveys.selectors.scope import round_for_user, within_scope

if TYPE_CHECKING:
    from enumerators.models import AnyUser


def backchecks_visible(*, user: AnyUser, round_id: int) -> QuerySet[BackCheck]:
    """The round's back-checks of the interviews in ``user``'s scope (404 for a round outside it)."""
    round_ = round_for_user(user=user, round_id=round_id)
    qs = BackCheck.objects.filter(round=round_).select_related(
        "original__location", "original__submitted_by", "backcheck").order_by("original__submitted_by__username",
                                                                             "original__interview_date", "pk")
    return within_scope(qs, user=user, prefix="original__")


def backcheck_row(row: BackCheck) -> dict[str, Any]:
    original = row.original
    location = original.location
    return {
        "original": original.instance_id,
        "enumerator": original.submitted_by.username if original.submitted_by else None,
        "interview_date": original.interview_date.isoformat() if original.interview_date else None,
        "location": {"code": location.code, "name": location.name} if location else None,
        "drawn": row.sampled,
        "done": row.backcheck_id is not None,
        "backcheck": row.backcheck.instance_id if row.backcheck else None,
        "compared": row.compared, "differing": row.differing,
        "difference_rate": round(row.difference_rate, 4) if row.difference_rate is not None else None,
        "differing_questions": sorted(name for name, r in row.result.items() if r.get("differs")),
        "flagged": row.flagged,
    }
