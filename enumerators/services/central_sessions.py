"""ODK Central's bearer sessions: log in with a password (``POST /v1/sessions``), use the token, log out.

The token is 48 random bytes (URL-safe text) shown once; the database keeps its SHA-256
(:class:`~enumerators.models.CentralSession`), so a dump holds no usable token. A session lasts
``MTM_CENTRAL_SESSION_SECONDS`` (24 h, as Central's). The password check is a login attempt like every
other (:func:`enumerators.services.logins.login_attempt`): failures counted, locked accounts refused.
The login is the username or the e-mail address (case-insensitive), as Central takes an e-mail."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db.models import Q
from django.utils import timezone

from enumerators.models import CentralSession, Enumerator, User
from enumerators.services.logins import login_attempt
from mtm.errors import Forbidden, InvalidInput, NotFound


class LoginRefused(InvalidInput):
    """Wrong login or password (Central's 401.2; never says which)."""

    central_code = 401.2


@dataclass(frozen=True)
class OpenedSession:
    token: str
    created_at: datetime
    expires_at: datetime


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account(login: str) -> User | None:
    """The active account whose username is ``login``, else the one account with that e-mail address."""
    by_name = User.objects.filter(username=login, is_active=True).first()
    if by_name is not None or "@" not in login:
        return by_name
    found = list(User.objects.filter(email__iexact=login, is_active=True)[:2])
    return found[0] if len(found) == 1 else None


def central_session_open(*, login: str, password: str, address: str) -> OpenedSession:
    """A new session for the account ``login`` (username or e-mail) with ``password``.
    :class:`LoginRefused` for wrong credentials and for field staff (enumerators' accounts are for
    tablets), :class:`~mtm.errors.TooManyAttempts` while the account or address is locked."""
    if not login or not password:
        raise InvalidInput("Required parameters email and password.")

    def verify() -> User | None:
        account = _account(login)
        if account is None or not check_password(password, account.password):
            return None
        return account

    user = login_attempt(account=login, address=address, entry="central-session", verify=verify)
    if user is None or Enumerator.objects.filter(user=user).exists():
        raise LoginRefused("Could not authenticate with the provided credentials.")
    token = secrets.token_urlsafe(48)
    now = timezone.now()
    expires = now + timedelta(seconds=settings.MTM_CENTRAL_SESSION_SECONDS)
    CentralSession.objects.create(user=user, token_sha256=token_sha256(token), created_at=now, expires_at=expires)
    CentralSession.objects.filter(expires_at__lt=now).delete()  # expired ones are of no use to anyone
    return OpenedSession(token=token, created_at=now, expires_at=expires)


def central_session_user(*, token: str) -> User | None:
    """The active account of an unexpired session token; None for any other token."""
    found = (CentralSession.objects.select_related("user")
             .filter(token_sha256=token_sha256(token), expires_at__gt=timezone.now(), user__is_active=True).first())
    return found.user if found is not None else None


def central_session_close(*, token: str, by: User) -> None:
    """End the session ``token`` (logout): only its own account may. :class:`NotFound` for an unknown or
    expired token, :class:`Forbidden` for another account's. Closing twice: the second is NotFound."""
    found = CentralSession.objects.filter(Q(token_sha256=token_sha256(token)), expires_at__gt=timezone.now()).first()
    if found is None:
        raise NotFound("No such session.")
    if found.user_id != by.pk:
        raise Forbidden("This session is another account's.")
    found.delete()
