"""OpenRosa endpoints for ODK Collect / KoboCollect: form list, form
download, manifest and media. Each view authenticates, calls one selector
and renders; under ``/<username>/`` only forms open to anonymous
submission are served, without credentials."""

from __future__ import annotations

import logging
import traceback
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mtm.errors import MtmError, refused_input
from mtm.locale import openrosa_language
from surveys.models import Questionnaire
from surveys.openrosa import xml
from surveys.openrosa.auth import AuthFailed, OpenRosaRequest, request_user
from surveys.openrosa.http import openrosa_domain_error, openrosa_error, openrosa_response, openrosa_unauthorized
from surveys.selectors.questionnaires import questionnaire_for_user, questionnaire_media_file, questionnaires_for_user

log = logging.getLogger(__name__)


def openrosa_view(view=None, *, methods=("GET", "HEAD")):
    """Resolve who is asking: the authenticated account, or under
    ``/<username>/`` the named account for its anonymous forms. Every error
    is an OpenRosa envelope: a domain error (or what :func:`mtm.errors.refused_input`
    reads as one) with its status code; anything else a 500, logged with its
    traceback but not its message (which may quote answers)."""
    if view is None:
        return lambda v: openrosa_view(v, methods=methods)

    @csrf_exempt
    @require_http_methods(list(methods))
    @wraps(view)
    def wrapper(request: OpenRosaRequest, *args: Any, username: str | None = None, **kwargs: Any) -> HttpResponse:
        try:
            return _answered(view, request, username, args, kwargs)
        except MtmError as err:
            return openrosa_domain_error(err)
        except Exception as exc:  # noqa: BLE001 - every answer on OpenRosa's paths is an envelope, 500 too
            refused = refused_input(exc)
            if refused is not None:
                return openrosa_domain_error(refused)
            log.error("OpenRosa %s %s failed with %s:\n%s", request.method, request.path, type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)))
            return openrosa_error(_("The server could not handle this request; please try again later."),
                                  status=500)

    return wrapper


def _answered(view: Any, request: OpenRosaRequest, username: str | None, args: Any, kwargs: Any) -> HttpResponse:
    if username is not None:
        owner = get_user_model().objects.filter(username=username, is_active=True).first()
        if owner is None:
            return openrosa_error(_("No account '%(username)s'.") % {"username": username}, status=404)
        request.openrosa_user, request.openrosa_anonymous = owner, True
    else:
        try:
            user = request_user(request) or _web_session_user(request)
        except AuthFailed as failure:
            return openrosa_unauthorized(str(failure), stale=failure.stale)
        if user is None:
            return openrosa_unauthorized()
        request.openrosa_user, request.openrosa_anonymous = user, False
    request.openrosa_prefix = username
    # What Collect shows the enumerator: in the tablet's language, else the account's own (mtm.locale).
    with translation.override(openrosa_language(request, None if username is not None else request.openrosa_user)):
        response: HttpResponse = view(request, *args, **kwargs)
    return response


def _web_session_user(request: OpenRosaRequest) -> Any:
    """The browser's web forms (``surveys.webforms``) read a form and its media from these endpoints with
    the enumerator's logged-in session, never with credentials: a GET without an Authorization header.
    Collect always sends credentials and has no session, so what it sees is unchanged."""
    if request.method not in ("GET", "HEAD"):
        return None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _url(request: OpenRosaRequest, name: str, **kwargs: str) -> str:
    if request.openrosa_prefix is not None:
        name, kwargs = f"openrosa-user-{name}", {"username": request.openrosa_prefix, **kwargs}
    else:
        name = f"openrosa-{name}"
    return request.build_absolute_uri(reverse(name, kwargs=kwargs))


@openrosa_view
def form_list(request: OpenRosaRequest) -> HttpResponse:
    forms = questionnaires_for_user(user=request.openrosa_user, anonymous_only=request.openrosa_anonymous)
    wanted = request.GET.get("formID")
    if wanted:
        forms = [q for q in forms if q.form_id == wanted]
    body = xml.form_list(forms, url=lambda q, kind: _url(request, kind, form_id=q.form_id))
    return openrosa_response(body)


def _questionnaire(request: OpenRosaRequest, form_id: str) -> Questionnaire:
    return questionnaire_for_user(
        user=request.openrosa_user, form_id=form_id, version=request.GET.get("version") or None,
        anonymous_only=request.openrosa_anonymous,
    )


@openrosa_view
def form_xml(request: OpenRosaRequest, form_id: str) -> HttpResponse:
    questionnaire = _questionnaire(request, form_id)
    response = openrosa_response(questionnaire.xform_xml.encode("utf-8"))
    response["ETag"] = f'"{questionnaire.md5}"'
    response["Content-Disposition"] = f'attachment; filename="{form_id}.xml"'
    return response


@openrosa_view
def manifest(request: OpenRosaRequest, form_id: str) -> HttpResponse:
    questionnaire = _questionnaire(request, form_id)
    body = xml.manifest(questionnaire, url=lambda filename: _url(request, "media", form_id=form_id,
                                                                   filename=filename))
    return openrosa_response(body)


@openrosa_view
def media_file(request: OpenRosaRequest, form_id: str, filename: str) -> FileResponse:
    questionnaire = _questionnaire(request, form_id)
    media = questionnaire_media_file(questionnaire=questionnaire, filename=filename)
    response = FileResponse(media.file.open("rb"), content_type=media.content_type, as_attachment=True,
                            filename=media.filename)
    response["X-OpenRosa-Version"] = "1.0"
    return response
