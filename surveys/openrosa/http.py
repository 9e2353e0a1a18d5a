"""Responses with the headers every OpenRosa answer must carry."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils.functional import Promise
from django.utils.http import http_date
from django.utils.translation import gettext as _

from mtm.errors import RETRY_AFTER_SECONDS, MtmError, TooManyAttempts, http_status
from surveys.openrosa import xml
from surveys.openrosa.auth import challenge

XML_CONTENT_TYPE = "text/xml; charset=utf-8"


def openrosa_domain_error(error: MtmError) -> HttpResponse:
    """A domain error as an OpenRosa envelope, with its status from :data:`mtm.errors.HTTP_STATUS`. Too many
    failed logins are a 429 with ``Retry-After``: Collect shows the envelope's message for any status but
    401, which would only prompt for the password again; a 503 has a ``Retry-After`` too (Collect sends
    again)."""
    response = retry_after(openrosa_error(error.message, status=http_status(error)))
    if isinstance(error, TooManyAttempts):
        response["Retry-After"] = str(error.retry_after)
    return response


def retry_after(response: HttpResponse) -> HttpResponse:
    if response.status_code == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def openrosa_response(body: bytes = b"", *, status: int = 200, content_type: str = XML_CONTENT_TYPE) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=content_type)
    response["X-OpenRosa-Version"] = "1.0"
    response["X-OpenRosa-Accept-Content-Length"] = str(settings.OPENROSA_MAX_SUBMISSION_BYTES)
    response["Date"] = http_date()
    return response


def openrosa_error(message: str | Promise, *, status: int) -> HttpResponse:
    return openrosa_response(xml.response_message(str(message)), status=status)


def openrosa_unauthorized(message: str | None = None, *, stale: bool = False) -> HttpResponse:
    response = openrosa_error(_("Authentication required.") if message is None else message, status=401)
    response["WWW-Authenticate"] = challenge(stale=stale)
    return response
