"""The admin site of MTM Collect: Django's, closed to field staff, with the
collection dashboards of the rounds the user may monitor on its index and a
login form that counts failed logins (:class:`LoginForm`); and the admin's
one way of showing a domain error (:func:`domain_errors`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from enumerators.services.logins import login_attempt
from mtm.client_address import client_address
from mtm.errors import MtmError, TooManyAttempts


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


class LoginForm(AdminAuthenticationForm):
    """Django's admin login, with failed logins counted and locked accounts or addresses refused
    (:func:`enumerators.services.logins.login_attempt`): the lock is shown as the form's error."""

    def clean(self) -> dict[str, Any]:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            address = client_address(self.request) if self.request is not None else "unknown"
            try:
                self.user_cache = login_attempt(
                    account=username, address=address, entry="admin",
                    verify=lambda: authenticate(self.request, username=username, password=password))
            except TooManyAttempts as err:
                raise ValidationError(err.message, code="locked") from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


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
