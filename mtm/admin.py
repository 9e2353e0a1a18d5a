"""The admin site of MTM Collect: Django's, closed to field staff, with the
collection dashboards of the rounds the user may monitor on its index."""

from __future__ import annotations

from django.contrib import admin


class MtmAdminSite(admin.AdminSite):
    site_header = "MTM Collect"
    site_title = "MTM Collect"
    index_title = "Collection and review"

    def has_permission(self, request) -> bool:
        """Staff only, and never an enumerator's account (their tablets log in with it), even if someone
        ticked "staff status" on it; superusers always."""
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        from enumerators.models import Enumerator

        return not Enumerator.objects.filter(user_id=user.pk).exists()

    def index(self, request, extra_context=None):
        from mtm.errors import MtmError
        from surveys.models import Round
        from surveys.selectors.scope import ensure_submission_viewer, viewable_rounds

        try:
            ensure_submission_viewer(request.user)
            dashboards = list(viewable_rounds(user=request.user).filter(status=Round.Status.OPEN)
                              .order_by("survey__slug", "number"))
        except MtmError:
            dashboards = []
        return super().index(request, {"dashboards": dashboards, **(extra_context or {})})
