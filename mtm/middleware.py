"""Domain errors on Django's own pages (the admin and its dashboards).

The APIs answer domain errors through DRF's exception handler and OpenRosa
through its envelope (see :mod:`mtm.errors`); a page's view simply lets a
:class:`~mtm.errors.MtmError` escape, and it is answered here as Django
answers its own: 404 and 403 pages, 400 for any other kind (and for what
:func:`mtm.errors.refused_input` reads as one: a NUL byte, nesting too deep).

:class:`NulRefusalMiddleware` refuses a NUL byte in a request's text up front,
on every interface, in the interface's own form."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import translation

from mtm.errors import NUL_MESSAGE, RETRY_AFTER_SECONDS, Forbidden, MtmError, NotFound, Unavailable, refused_input


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, MtmError):
            refused = refused_input(exception)
            if refused is None:
                return None
            exception = refused
        if isinstance(exception, Unavailable):  # nothing was changed: the same request later will do
            response = HttpResponse(exception.message, status=503, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        django_error: Exception
        if isinstance(exception, NotFound):
            django_error = Http404(exception.message)
        elif isinstance(exception, Forbidden):
            django_error = PermissionDenied(exception.message)
        else:
            django_error = BadRequest(exception.message)
        return response_for_exception(request, django_error)


#: A NUL in JSON text: the raw byte, or the escape ``\u0000`` not itself escaped (``\\u0000`` is text).
_JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")


class NulRefusalMiddleware:
    """Refuse, before any view runs, a request whose text holds a NUL byte
    (PostgreSQL cannot store one): in its path, its query string, a header,
    or a JSON or form-encoded body. The answer is 400 in the protocol's own
    form: DRF's ``{"detail": …}`` under ``/api/``, OpenRosa's envelope (or
    KoBo's ``{"error": …}`` to a JSON submission) on OpenRosa's paths,
    Django's 400 page elsewhere. Multipart bodies carry binary files and are
    left to :func:`mtm.errors.refused_input` behind each protocol."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return _refusal(request)
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or "\x00" in request.path:
        return True
    if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
        return True
    if any(key.startswith("HTTP_") and "\x00" in str(value) for key, value in request.META.items()):
        return True
    if _basic_credentials_have_nul(request.META.get("HTTP_AUTHORIZATION", "")):
        return True
    if request.content_type not in _TEXT_BODIES:
        return False
    try:
        body = request.body
    except RequestDataTooBig:
        return False  # the view answers 413 in its protocol's form
    if request.content_type == "application/json":
        return _JSON_NUL.search(body) is not None
    form = QueryDict(body, encoding=request.encoding)
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in form.lists())


def _basic_credentials_have_nul(header: str) -> bool:
    """Only whether Basic credentials hold a NUL: reading them is :mod:`surveys.openrosa.auth`'s."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        return b"\x00" in base64.b64decode(encoded.strip(), validate=False)
    except (binascii.Error, ValueError):
        return False


def _refusal(request: HttpRequest) -> HttpResponse:
    """Answered before :class:`mtm.locale.LanguageMiddleware` runs: in the language it would choose for the
    path (English on the APIs; the request's ``Accept-Language`` elsewhere)."""
    path = request.path_info
    from mtm.locale import accept_language

    if path.startswith("/api/"):
        with translation.override(settings.LANGUAGE_CODE):
            return JsonResponse({"detail": str(NUL_MESSAGE)}, status=400)
    with translation.override(accept_language(request) or settings.LANGUAGE_CODE):
        message = str(NUL_MESSAGE)
        if path.startswith(("/admin/", "/healthz", "/static/")) or path == "/":
            return response_for_exception(request, BadRequest(message))
    from surveys.openrosa.http import openrosa_error

    if request.content_type == "application/json":  # a KoBo JSON submission is answered in JSON
        response = JsonResponse({"error": message}, status=400)
        response["X-OpenRosa-Version"] = "1.0"
        return response
    return openrosa_error(message, status=400)
