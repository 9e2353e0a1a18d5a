"""Domain errors on Django's own pages (the admin and its dashboards).

The APIs answer domain errors through DRF's exception handler and OpenRosa
through its envelope (see :mod:`mtm.errors`); a page's view simply lets a
:class:`~mtm.errors.MtmError` escape, and it is answered here as Django
answers its own: 404 and 403 pages, 400 for any other kind."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest, PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponse

from mtm.errors import Forbidden, MtmError, NotFound


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, MtmError):
            return None
        django_error: Exception
        if isinstance(exception, NotFound):
            django_error = Http404(exception.message)
        elif isinstance(exception, Forbidden):
            django_error = PermissionDenied(exception.message)
        else:
            django_error = BadRequest(exception.message)
        return response_for_exception(request, django_error)
