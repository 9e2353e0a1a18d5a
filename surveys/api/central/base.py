"""What every view of ODK Central's API shares: its two ways to authenticate (a bearer session token,
HTTP Basic through the login lockout), its JSON renderer, and its one error shape
``{"code": 404.1, "message": "…"}`` (the status is the code's whole part), as Central answers."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enumerators.models import Enumerator, User
from enumerators.services.central_sessions import central_session_user
from enumerators.services.logins import login_attempt
from mtm.client_address import client_address
from mtm.errors import (
    RETRY_AFTER_SECONDS,
    Forbidden,
    InvalidInput,
    MtmError,
    NotFound,
    TooManyAttempts,
    Unsupported,
    http_status,
    refused_input,
)
from surveys.api.kobo.renderers import FastJSONRenderer

AUTH_FAILED = "Could not authenticate with the provided credentials."
NOT_FOUND = "Could not find the resource you were looking for."
INSUFFICIENT = "The authentication you provided does not have rights to perform that action."


class CentralAuthFailed(exceptions.AuthenticationFailed):
    """Central's 401.2."""


class BearerSessionAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` of a session from ``POST /v1/sessions``."""

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise CentralAuthFailed(AUTH_FAILED)
        token = parts[1].decode("latin-1")
        user = central_session_user(token=token)
        if user is None:
            raise CentralAuthFailed(AUTH_FAILED)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="ODK Central"'


class CentralBasicAuthentication(BaseAuthentication):
    """HTTP Basic with the username (or e-mail) and password: a login attempt like any other
    (failures counted, a locked account refused with 429). Field staff accounts are for tablets."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return None
        try:
            login, sep, password = base64.b64decode(parts[1], validate=True).decode("utf-8").partition(":")
        except (IndexError, binascii.Error, UnicodeDecodeError):
            raise CentralAuthFailed(AUTH_FAILED) from None
        if not sep or len(parts) != 2:
            raise CentralAuthFailed(AUTH_FAILED)
        django_request: HttpRequest = request._request

        def verify() -> User | None:
            account = authenticate(django_request, username=login, password=password)
            if account is None and "@" in login:
                found = list(User.objects.filter(email__iexact=login, is_active=True)[:2])
                if len(found) == 1:
                    account = authenticate(django_request, username=found[0].username, password=password)
            return account if isinstance(account, User) else None

        user = login_attempt(account=login, address=client_address(django_request), entry="central-basic",
                             verify=verify)
        if user is None or Enumerator.objects.filter(user=user).exists():
            raise CentralAuthFailed(AUTH_FAILED)
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="ODK Central"'


def problem(code: float, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response({"code": code, "message": message}, status=int(code), headers=headers)


def central_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error of the Central API in Central's shape."""
    if not isinstance(exc, MtmError):
        refused = refused_input(exc)
        if refused is not None:
            exc = refused
    if isinstance(exc, MtmError):
        return _domain_problem(exc)
    if isinstance(exc, exceptions.NotAuthenticated):  # a challenge, so that Excel and Power BI ask for a login
        return problem(401.2, AUTH_FAILED, {"WWW-Authenticate": 'Basic realm="ODK Central", charset="UTF-8"'})
    if isinstance(exc, exceptions.AuthenticationFailed):
        return problem(401.2, AUTH_FAILED)
    if isinstance(exc, exceptions.PermissionDenied):
        return problem(403.1, INSUFFICIENT)
    if isinstance(exc, exceptions.NotFound):
        return problem(404.1, NOT_FOUND)
    if isinstance(exc, exceptions.ParseError):
        return problem(400.1, f"Could not parse the given data as json. {exc.detail}")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem(415.0, str(exc.detail))
    if isinstance(exc, exceptions.MethodNotAllowed):
        return problem(405.0, str(exc.detail))
    if isinstance(exc, exceptions.NotAcceptable):
        return problem(406.1, str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        return problem(float(exc.status_code), str(exc.detail))
    return None


def _domain_problem(exc: MtmError) -> Response:
    code = getattr(exc, "central_code", None)
    if code is None:
        if isinstance(exc, NotFound):
            return problem(404.1, NOT_FOUND)
        if isinstance(exc, Forbidden):
            return problem(403.1, f"{INSUFFICIENT} {exc.message}")
        if isinstance(exc, TooManyAttempts):
            return problem(429.0, exc.message, {"Retry-After": str(exc.retry_after)})
        if isinstance(exc, Unsupported):
            code = 501.1
        elif isinstance(exc, InvalidInput):
            code = 400.8
        else:
            code = float(http_status(exc))
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if int(code) == 503 else None
    return problem(code, exc.message, headers)


class CentralView(APIView):
    """A view of ODK Central's API: bearer session or Basic auth, JSON, Central's errors."""

    authentication_classes = [BearerSessionAuthentication, CentralBasicAuthentication]
    renderer_classes = [FastJSONRenderer]
    #: Not in /api/schema/: Central's API is documented by Central (docs/api.yaml), and shaped as it is.
    schema = None

    def get_exception_handler(self) -> Any:
        return central_exception_handler

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        """JSON whatever ``Accept`` says (OData clients ask for ``application/json;odata.metadata=minimal``,
        Excel for XML with JSON accepted), as Central answers."""
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type
