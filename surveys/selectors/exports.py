"""Reads on record exports."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from mtm.errors import Forbidden, NotFound
from surveys.models import RecordExport
from surveys.selectors.scope import ensure_submission_viewer

if TYPE_CHECKING:
    from enumerators.models import AnyUser


def record_export_for_user(*, user: AnyUser, uid: str) -> RecordExport:
    """One record export, for the one who asked for it (or a superuser)."""
    ensure_submission_viewer(user)
    export = RecordExport.objects.filter(uid=uid).select_related("round").first()
    if export is None:
        raise NotFound(f"No export '{uid}'.")
    if export.requested_by_id != user.pk and not user.is_superuser:
        raise Forbidden("This export belongs to someone else.")
    return export


def exports_waiting(*, older_than: timedelta) -> list[int]:
    """Ids of record exports still pending ``older_than`` after they were asked for (the broker was down)."""
    return list(RecordExport.objects.filter(status=RecordExport.Status.PENDING,
                                            created_at__lte=timezone.now() - older_than)
                .order_by("created_at").values_list("pk", flat=True))
