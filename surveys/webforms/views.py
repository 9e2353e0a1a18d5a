"""The browser's web forms (ADR 0020): ODK's own renderer, ``@getodk/web-forms``, in Django pages.

- Enumerators (``/collect/``): log in, see the forms of their open assignments, fill one; the form and
  its media come from Collect's own OpenRosa endpoints (read with the page's session), the interview is
  posted as Collect posts it and stored by the same ingest service (201 / 202 / 409).
- Public links (``/f/<token>/``): a form open to anonymous submission, without logging in.
- Corrections (``/collect/correct/<id>/``): a supervisor opens an interview in edit mode, withheld
  fields out (:mod:`surveys.services.corrections`), and saves it with a reason.

Views parse the request, call one service or selector, and render; a domain error on the posting
endpoints is an OpenRosa envelope with its status (what the page's script shows)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from mtm.errors import MtmError
from mtm.login_forms import CountedLogin
from surveys.models import Questionnaire
from surveys.openrosa.http import openrosa_domain_error, openrosa_response
from surveys.openrosa.submission import XML_PART, multipart_ingest, multipart_parts, submission_answer
from surveys.selectors.questionnaires import questionnaire_for_user, questionnaire_media_file, questionnaires_for_user
from surveys.services.corrections import correction_instance, submission_correct, submission_for_correction
from surveys.services.ingest import Sender
from surveys.services.public_links import public_link_open, public_link_submit

LOGIN_URL = reverse_lazy("webforms-login")


class EnumeratorLoginForm(CountedLogin):
    """Django's login form with failed logins counted and locks refused, as the admin's and Collect's."""

    entry = "web"


login = auth_views.LoginView.as_view(template_name="webforms/login.html", authentication_form=EnumeratorLoginForm,
                                     redirect_authenticated_user=True, next_page=reverse_lazy("webforms-forms"),
                                     extra_context={"title": gettext_lazy("Log in")})
logout = auth_views.LogoutView.as_view(next_page=LOGIN_URL)


@require_GET
@login_required(login_url=LOGIN_URL)
def form_list(request: HttpRequest) -> HttpResponse:
    forms = questionnaires_for_user(user=request.user)
    return render(request, "webforms/forms.html", {"forms": forms, "title": _("Forms to fill")})


@require_GET
@ensure_csrf_cookie
@login_required(login_url=LOGIN_URL)
def fill(request: HttpRequest, form_id: str) -> HttpResponse:
    questionnaire = questionnaire_for_user(user=request.user, form_id=form_id)
    urls = {
        "form": reverse("openrosa-form", kwargs={"form_id": form_id}) + f"?version={questionnaire.version}",
        "media": reverse("openrosa-media", kwargs={"form_id": form_id, "filename": "FILENAME"}),
        "submit": reverse("webforms-submission"),
        "back": reverse("webforms-forms"),
    }
    return _fill_page(request, questionnaire, urls=urls, draft_key=str(request.user.pk))


@require_POST
@login_required(login_url=LOGIN_URL)
def submission(request: HttpRequest) -> HttpResponse:
    """An interview filled in the browser, as Collect posts it, stored by the same ingest service."""
    user = request.user
    assert user.is_authenticated  # login_required
    sender = Sender(user=user, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    return _answered(lambda: submission_answer(multipart_ingest(request, sender)))


@require_GET
@ensure_csrf_cookie
def public_fill(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link, questionnaire = public_link_open(token=token)
    except MtmError as err:
        return render(request, "webforms/refused.html", {"message": err.message, "title": _("Web form")},
                      status=404 if err.__class__.__name__ == "NotFound" else 403)
    owner = link.owner.get_username()
    urls = {
        "form": reverse("openrosa-user-form", kwargs={"username": owner, "form_id": link.form_id})
        + f"?version={questionnaire.version}",
        "media": reverse("openrosa-user-media", kwargs={"username": owner, "form_id": link.form_id,
                                                        "filename": "FILENAME"}),
        "submit": reverse("webforms-public-submission", kwargs={"token": token}),
        "back": "",
    }
    return _fill_page(request, questionnaire, urls=urls, draft_key=f"link:{token}")


@require_POST
def public_submission(request: HttpRequest, token: str) -> HttpResponse:
    def ingest() -> HttpResponse:
        parts = multipart_parts(request)
        return submission_answer(public_link_submit(token=token, xml=parts.xml, attachments=parts.attachments,
                                                    user_agent=request.META.get("HTTP_USER_AGENT", "")))

    return _answered(ingest)


@require_GET
@ensure_csrf_cookie
@login_required
def correct(request: HttpRequest, submission_id: int) -> HttpResponse:
    """*Correct in form*: the interview in edit mode, without its withheld fields; the admin's login."""
    try:
        sub = submission_for_correction(user=request.user, submission_id=submission_id)
    except MtmError as err:
        return render(request, "webforms/refused.html", {"message": err.message, "title": _("Correct in form")},
                      status=400 if err.__class__.__name__ == "InvalidInput" else 403)
    kwargs = {"submission_id": submission_id}
    urls = {
        "form": reverse("webforms-correct-form", kwargs=kwargs),
        "media": reverse("webforms-correct-media", kwargs={**kwargs, "filename": "FILENAME"}),
        "instance": reverse("webforms-correct-instance", kwargs=kwargs),
        "submit": reverse("webforms-correct-save", kwargs=kwargs),
        "back": reverse("admin:surveys_submission_change", args=[submission_id]),
    }
    return _fill_page(request, sub.questionnaire, urls=urls, draft_key="", correction=sub)


@require_GET
@login_required
def correct_form(request: HttpRequest, submission_id: int) -> HttpResponse:
    return _answered(lambda: openrosa_response(
        submission_for_correction(user=request.user, submission_id=submission_id)
        .questionnaire.xform_xml.encode("utf-8")))


@require_GET
@login_required
def correct_media(request: HttpRequest, submission_id: int, filename: str) -> HttpResponse:
    def media() -> FileResponse:
        sub = submission_for_correction(user=request.user, submission_id=submission_id)
        found = questionnaire_media_file(questionnaire=sub.questionnaire, filename=filename)
        return FileResponse(found.file.open("rb"), content_type=found.content_type)

    return _answered(media)


@require_GET
@login_required
def correct_instance(request: HttpRequest, submission_id: int) -> HttpResponse:
    response = _answered(lambda: openrosa_response(correction_instance(user=request.user,
                                                                        submission_id=submission_id)))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def correct_save(request: HttpRequest, submission_id: int) -> HttpResponse:
    def save() -> HttpResponse:
        parts = multipart_parts(request)
        result = submission_correct(
            submission_id=submission_id, by=request.user, xml=parts.xml, reason=request.POST.get("reason", ""),
            user_agent=request.META.get("HTTP_USER_AGENT", ""))
        response = submission_answer(result)
        # The page goes on to the new version's page in the admin.
        response["Location"] = reverse("admin:surveys_submission_change", args=[result.submission.pk])
        return response

    return _answered(save)


def _answered(answer: Any) -> Any:
    """A posting endpoint's answer: a domain error as OpenRosa's envelope with its status."""
    try:
        response: HttpResponse = answer()
    except MtmError as err:
        return openrosa_domain_error(err)
    return response


def _fill_page(request: HttpRequest, questionnaire: Questionnaire, *, urls: dict[str, str], draft_key: str,
               correction: Any = None) -> HttpResponse:
    config = {
        "urls": urls,
        "language": get_language() or settings.LANGUAGE_CODE,
        "draftKey": f"mtm-webform:{draft_key}:{questionnaire.form_id}:{questionnaire.version}" if draft_key else "",
        "xmlPart": XML_PART,
        "correction": correction is not None,
        "text": {
            "sending": _("Sending…"),
            "sent": _("Sent. Thank you: the interview is stored."),
            "duplicate": _("Already received: nothing was duplicated."),
            "offline": _("Not sent: no connection. It is kept on this device and sent again automatically."),
            "retrying": _("Sending again the interviews kept on this device…"),
            "refused": _("Refused by the server:"),
            "draftRestored": _("Your unsent draft on this device was restored."),
            "draftDiscard": _("Discard the draft"),
            "reasonRequired": _("Give the reason for the correction first."),
            "corrected": _("Saved: the correction is a new version of the interview."),
        },
    }
    context = {"questionnaire": questionnaire, "config": config, "correction": correction,
               "title": questionnaire.title or questionnaire.form_id, "config_json": json.dumps(config)}
    return render(request, "webforms/fill.html", context)
