"""The APIs' one mapping of domain errors to HTTP (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).

Views call services and selectors directly; a :class:`~mtm.errors.MtmError`
they raise is answered here with its status from :data:`mtm.errors.HTTP_STATUS`
and DRF's body: ``{"detail": message}``, or ``{field: [message]}`` when the
error names the input it is about. A view whose one input is a file may set
``domain_error_field`` to name it for errors that name no field."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mtm.errors import InvalidInput, MtmError, http_status


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if not isinstance(exc, MtmError):
        return drf_exception_handler(exc, context)
    field = exc.field
    if field is None and isinstance(exc, InvalidInput):
        field = getattr(context.get("view"), "domain_error_field", None)
    body: dict[str, Any] = {field: [exc.message]} if field else {"detail": exc.message}
    return Response(body, status=http_status(exc))
