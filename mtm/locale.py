"""Which language a request is answered in (docs/adr/0015).

- Pages (the admin, its dashboards, review and report pages): the user's own setting
  (``User.language``, set by the header's switch or by an administrator), else the switch's cookie, else
  the browser's ``Accept-Language``, else ``LANGUAGE_CODE``.
- OpenRosa (what an enumerator reads in Collect): the request's ``Accept-Language`` (Collect sends the
  tablet's), else the enumerator's own setting, else ``LANGUAGE_CODE`` — :func:`openrosa_language`, once
  :mod:`surveys.openrosa.views` knows the account.
- The APIs (``/api/``: our v1 and KoboToolbox's v2) always in ``LANGUAGE_CODE``: scripts and connectors read
  them, and one answer never mixes languages.
- Management commands: :func:`command_language` (the shell's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from enumerators.models import User

#: Paths answered in ``LANGUAGE_CODE`` whatever the request asks for.
API_PREFIXES = ("/api/",)


def supported(code: str | None) -> str | None:
    """``code`` (``ru``, ``ru-RU``, ``kk-kz``) as one of ``LANGUAGES`` (``ru``), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def accept_language(request: HttpRequest) -> str | None:
    """The first language of the request's ``Accept-Language`` that the interface has, or None."""
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        found = supported(code)
        if found is not None:
            return found
    return None


def user_language(user: User | AnonymousUser | None) -> str | None:
    """The account's own interface language, None when it has none (or nobody is logged in)."""
    return supported(getattr(user, "language", "") or None) if user is not None else None


def page_language(request: HttpRequest) -> str:
    """A page's language: the user's setting, else the cookie, else ``Accept-Language``, else the default."""
    if request.path_info.startswith(API_PREFIXES):
        return settings.LANGUAGE_CODE
    return user_language(getattr(request, "user", None)) or translation.get_language_from_request(request)


def openrosa_language(request: HttpRequest, user: User | None) -> str:
    """What Collect shows an enumerator: the tablet's ``Accept-Language``, else the account's own setting."""
    return accept_language(request) or user_language(user) or settings.LANGUAGE_CODE


def command_language() -> str:
    """A management command's language: the shell's (``LANG=ru_RU.UTF-8``) when the interface has it."""
    return supported(settings.MTM_COMMAND_LANGUAGE) or settings.LANGUAGE_CODE


class LanguageMiddleware(LocaleMiddleware):
    """Django's :class:`~django.middleware.locale.LocaleMiddleware` (``Content-Language``, ``Vary``), with
    the language chosen by :func:`page_language`. After ``AuthenticationMiddleware``: it reads the user.
    A user with a language of their own also gets the switch's cookie, so that the login page after they
    log out (and another tab) stays in it."""

    def process_request(self, request: HttpRequest) -> None:
        language = page_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().process_response(request, response)
        own = user_language(getattr(request, "user", None))
        if own and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != own \
                and settings.LANGUAGE_COOKIE_NAME not in response.cookies:
            set_language_cookie(response, own)
        return response


def set_language_cookie(response: HttpResponseBase, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE)
