"""Operational endpoints."""

from django.http import HttpRequest, JsonResponse

from mtm.health import health


def healthz(request: HttpRequest) -> JsonResponse:
    """Each dependency's state (:mod:`mtm.health`), for load balancers and monitoring: 503 only when the
    server cannot store a submission, 200 with ``"status": "degraded"`` when only Redis is down."""
    report, status = health()
    return JsonResponse(report, status=status)
