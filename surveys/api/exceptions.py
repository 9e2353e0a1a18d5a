"""The APIs' one mapping of domain errors to HTTP (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).

Views call services and selectors directly; a :class:`~mtm.errors.MtmError`
they raise is answered here with its status from :data:`mtm.errors.HTTP_STATUS`
and DRF's body: ``{"detail": message}``, or ``{field: [message]}`` when the
error names the input it is about. The few exceptions that are not ours but
say the input was bad (:func:`mtm.errors.refused_input`: a NUL byte, nesting
too deep, a lost deadlock) are answered the same way. A view whose one input is a file may set
``domain_error_field`` to name it for errors that name no field."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mtm.errors import RETRY_AFTER_SECONDS, InvalidInput, MtmError, http_status, refused_input


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if not isinstance(exc, MtmError):
        refused = refused_input(exc)  # a NUL byte PostgreSQL refuses, nesting too deep, a lost deadlock
        if refused is None:
            return drf_exception_handler(exc, context)
        exc = refused
    field = exc.field
    if field is None and isinstance(exc, InvalidInput):
        field = getattr(context.get("view"), "domain_error_field", None)
    body: dict[str, Any] = {field: [exc.message]} if field else {"detail": exc.message}
    status = http_status(exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return Response(body, status=status, headers=headers)
