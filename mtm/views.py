"""Operational endpoints, and the language switch."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from enumerators.services.accounts import user_language_set
from mtm.health import health
from mtm.locale import supported


def healthz(request: HttpRequest) -> JsonResponse:
    """Each dependency's state (:mod:`mtm.health`), for load balancers and monitoring: 503 only when the
    server cannot store a submission, 200 with ``"status": "degraded"`` when only Redis is down."""
    report, status = health()
    return JsonResponse(report, status=status)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """``POST /i18n/setlang/`` with ``language`` and ``next``: Django's own view (the cookie, the redirect),
    and for a logged-in user the choice kept on the account (``User.language``), so that their next login —
    another session, another browser — opens in it."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if supported(language) != language:  # Django's view takes any language it has a catalogue of (de, fr …)
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    elif request.user.is_authenticated:
        user_language_set(user_id=request.user.pk, language=language)
    return response
