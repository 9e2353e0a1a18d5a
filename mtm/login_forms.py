"""Login forms' one rule: failed logins counted and locked accounts or addresses refused
(:func:`enumerators.services.logins.login_attempt`), the lock shown as the form's error. Mixed into the
admin's login form (:class:`mtm.admin.LoginForm`) and the web forms' (``surveys.webforms``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from enumerators.services.logins import login_attempt
from mtm.client_address import client_address
from mtm.errors import TooManyAttempts


class CountedLogin(AuthenticationForm):
    """Django's login form through :func:`login_attempt`; ``entry`` names the way in for the audit."""

    entry = "web"

    def clean(self) -> dict[str, Any]:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            address = client_address(self.request) if self.request is not None else "unknown"
            try:
                self.user_cache = login_attempt(
                    account=username, address=address, entry=self.entry,
                    verify=lambda: authenticate(self.request, username=username, password=password))
            except TooManyAttempts as err:
                raise ValidationError(err.message, code="locked") from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
