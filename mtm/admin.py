"""The admin site of MTM Collect: Django's, closed to field staff, with the
collection dashboards of the rounds the user may monitor on its index and a
login form that counts failed logins (:class:`LoginForm`); and the admin's
one way of showing a domain error (:func:`domain_errors`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from mtm.errors import MtmError
from mtm.login_forms import CountedLogin


@dataclass
class Outcome:
    """What :func:`domain_errors` saw: the domain error's message, if one was raised."""

    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.message is None


@contextmanager
def domain_errors(request: HttpRequest | None = None) -> Iterator[Outcome]:
    """Run an admin action's or form's service calls: a domain error they raise
    ends the block and becomes ``outcome.message`` — and, given ``request``, an
    error message on the next page — instead of a server error. (Pages that
    let a domain error escape get Django's 404 / 403 / 400 from
    :class:`mtm.middleware.DomainErrorMiddleware`.)"""
    outcome = Outcome()
    try:
        yield outcome
    except MtmError as err:
        outcome.message = err.message
        if request is not None:
            messages.error(request, err.message)


class LoginForm(CountedLogin, AdminAuthenticationForm):
    """Django's admin login, with failed logins counted and locked accounts or addresses refused
    (:class:`mtm.login_forms.CountedLogin`); staff only, as Django's."""

    entry = "admin"


class MtmAdminSite(admin.AdminSite):
    login_form = LoginForm
    site_header = _("MTM Collect")
    site_title = _("MTM Collect")
    index_title = _("Collection and review")

    def has_permission(self, request: HttpRequest) -> bool:
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
        from surveys.models import Round
        from surveys.selectors.review import waiting_by_round
        from surveys.selectors.scope import may_see_submissions, viewable_rounds

        dashboards: list[tuple[Round, int]] = []
        if may_see_submissions(request.user):
            rounds = list(viewable_rounds(user=request.user).filter(status=Round.Status.OPEN)
                          .order_by("survey__name", "number"))
            waiting = waiting_by_round(user=request.user, round_ids=[r.pk for r in rounds])
            dashboards = [(r, waiting[r.pk]) for r in rounds]
        return super().index(request, {"dashboards": dashboards, **(extra_context or {})})
