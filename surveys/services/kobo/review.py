"""KoboToolbox's validation statuses on the review workflow: every change
goes through :func:`surveys.services.review.submission_review` (permission,
audit entry); ``validation_status_approved`` / ``_not_approved`` /
``_on_hold`` are approved / not approved / on hold, and clearing one clears
the review state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from mtm.errors import InvalidInput, NotFound
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.kobo.query import VALIDATION_UIDS
from surveys.selectors.kobo.records import visible_records
from surveys.services.review import submission_review

if TYPE_CHECKING:
    from enumerators.models import AnyUser


def review_state(uid: Any) -> str:
    if uid not in VALIDATION_UIDS:
        allowed = ", ".join(VALIDATION_UIDS)
        raise InvalidInput(f"'validation_status.uid' must be one of: {allowed}.")
    return VALIDATION_UIDS[uid]


def kobo_validation_status_set(*, user: AnyUser, asset: Asset, submission_id: int, uid: str | None) -> None:
    """Set (``uid``) or clear (``None``) one record's validation status."""
    state = review_state(uid) if uid is not None else None
    kobo_validation_statuses_set(user=user, asset=asset, submission_ids=[submission_id], uid=uid, state=state)


@transaction.atomic
def kobo_validation_statuses_set(*, user: AnyUser, asset: Asset, submission_ids: list[Any], uid: str | None,
                                 state: str | None = None) -> int:
    """Set or clear the validation status of several records (all or none):
    the number of records, as KoboToolbox counts them. Ids the user may not
    see are not found."""
    if uid is not None and state is None:
        state = review_state(uid)
    try:
        ids = sorted({int(i) for i in submission_ids})
    except (TypeError, ValueError):
        raise InvalidInput("'submission_ids' must be a list of record ids (_id).") from None
    if not ids:
        raise InvalidInput("'submission_ids' must name at least one record.")
    found = list(visible_records(user=user, form_id=asset.form_id).filter(pk__in=ids).values_list("pk", flat=True))
    if len(found) != len(ids):
        missing = sorted(set(ids) - set(found))
        raise NotFound(f"No submission {', '.join(map(str, missing))} in this asset.")
    for pk in sorted(found):
        submission_review(submission_id=pk, status=state, by=user)
    return len(found)
