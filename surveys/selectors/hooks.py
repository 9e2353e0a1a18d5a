"""Reads on REST services: who may manage a form's hooks, its hooks with their delivery counts, their
logs, and what is due to be sent.

A form's hooks are managed by a superuser, the account that imported one of its versions (the asset's
owner) or a holder of ``surveys.change_resthook`` (the *Data managers* role) — and never by a supervisor
limited to a team: a hook sends the whole form's records, beyond any team. An account that may not see
the asset gets 404 (:func:`surveys.selectors.kobo.assets.asset_for_user`), one that sees it but may not
manage its hooks 403."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from mtm.errors import Forbidden, NotFound
from surveys.models import HookDelivery, HookLog, RestHook
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.scope import team_scoped

if TYPE_CHECKING:
    from enumerators.models import AnyUser

HOOKS_FORBIDDEN = ("Only the form's owner or a data manager may manage its REST services (they send the "
                   "whole form's records).")


def may_manage_hooks(*, user: AnyUser, asset: Asset) -> bool:
    if not user.is_active or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if team_scoped(user):
        return False
    return user.has_perm("surveys.change_resthook") or any(q.created_by_id == user.pk for q in asset.versions)


def ensure_hook_manager(*, user: AnyUser, asset: Asset) -> None:
    if not may_manage_hooks(user=user, asset=asset):
        raise Forbidden(HOOKS_FORBIDDEN)


def hooks_of(*, user: AnyUser, asset: Asset) -> QuerySet[RestHook]:
    """The asset's hooks with their deliveries counted by status (``failed_count`` …)."""
    ensure_hook_manager(user=user, asset=asset)
    counted = {name: Count("deliveries", filter=Q(deliveries__status=value))
               for name, value in (("failed_count", HookDelivery.Status.FAILED),
                                   ("pending_count", HookDelivery.Status.PENDING),
                                   ("success_count", HookDelivery.Status.SUCCESS))}
    return RestHook.objects.filter(form_id=asset.form_id).annotate(**counted).order_by("date_created", "id")


def hook_of(*, user: AnyUser, asset: Asset, uid: str) -> RestHook:
    hook = hooks_of(user=user, asset=asset).filter(uid=uid).first()
    if hook is None:
        raise NotFound(f"No REST service '{uid}' of this asset.")
    return hook


def hook_logs(*, hook: RestHook, status: int | None = None, start: datetime | None = None,
              end: datetime | None = None) -> QuerySet[HookLog]:
    """Every attempt of the hook, newest first (KoboToolbox's filters: ``status``, ``start``, ``end``)."""
    qs = HookLog.objects.filter(hook=hook)
    if status is not None:
        qs = qs.filter(status=status)
    if start is not None:
        qs = qs.filter(date_modified__gte=start)
    if end is not None:
        qs = qs.filter(date_modified__lte=end)
    return qs.order_by("-date_created", "-id")


def hook_log(*, hook: RestHook, uid: str) -> HookLog:
    log = HookLog.objects.filter(hook=hook, uid=uid).select_related("delivery").first()
    if log is None:
        raise NotFound(f"No log '{uid}' of this REST service.")
    return log


def active_hook_ids(*, form_id: str) -> list[int]:
    return list(RestHook.objects.filter(form_id=form_id, active=True).values_list("id", flat=True))


def deliveries_due(*, before: datetime, limit: int = 10_000) -> list[int]:
    """Pending deliveries whose attempt was due before ``before`` and that no worker holds (the broker was
    down when they were enqueued, or a worker died): the sweep sends them again."""
    return list(HookDelivery.objects.filter(status=HookDelivery.Status.PENDING, next_attempt_at__lte=before)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=before))
                .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
