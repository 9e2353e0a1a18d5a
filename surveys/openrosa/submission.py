"""``HEAD|POST /submission``: the OpenRosa submission API (multipart with
``xml_submission_file``) and KoBo-style JSON, over one ingest service."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mtm.env import MULTIPART_ALLOWANCE
from mtm.errors import MtmError, TooLarge, http_status, refused_input
from surveys.errors import InvalidSubmission
from surveys.openrosa import xml
from surveys.openrosa.auth import OpenRosaRequest
from surveys.openrosa.http import openrosa_response, retry_after
from surveys.openrosa.views import openrosa_view
from surveys.services.ingest import IngestResult, Sender, submission_ingest_json, submission_ingest_xml

XML_PART = "xml_submission_file"


@openrosa_view(methods=("HEAD", "POST"))
def submission(request: OpenRosaRequest) -> HttpResponse:
    if request.method == "HEAD":
        return openrosa_response(status=204)
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.OPENROSA_MAX_SUBMISSION_BYTES + MULTIPART_ALLOWANCE:
        raise TooLarge(_("The submission is larger than %(bytes)s bytes.")
                       % {"bytes": settings.OPENROSA_MAX_SUBMISSION_BYTES})
    sender = Sender(
        user=None if request.openrosa_anonymous else request.openrosa_user,
        anonymous_owner=request.openrosa_user if request.openrosa_anonymous else None,
        device_id=request.GET.get("deviceID", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    if request.content_type == "application/json":  # an API's answer: in English, as the APIs (mtm.locale)
        with translation.override(settings.LANGUAGE_CODE):
            return _json(request, sender)
    return submission_answer(multipart_ingest(request, sender))


@dataclass(frozen=True)
class MultipartParts:
    xml: bytes
    attachments: list[UploadedFile[bytes]]
    is_incomplete: bool


def multipart_parts(request: HttpRequest) -> MultipartParts:
    """An OpenRosa multipart post's parts (``xml_submission_file`` and the attachments), checked as
    Collect's ``/submission`` checks them: the browser's web forms (``surveys.webforms``) post the same."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    # Collect keeps the files of a part within the advertised size; the
    # multipart envelope and the XML come on top of that.
    if length > settings.OPENROSA_MAX_SUBMISSION_BYTES + MULTIPART_ALLOWANCE:
        raise TooLarge(_("The submission is larger than %(bytes)s bytes.")
                       % {"bytes": settings.OPENROSA_MAX_SUBMISSION_BYTES})
    try:
        files = request.FILES
        is_incomplete = request.POST.get("*isIncomplete*", "").lower() == "yes"
    except RequestDataTooBig:
        raise TooLarge(_("The submission's form fields are too large.")) from None
    except (MultiPartParserError, SuspiciousOperation) as err:
        raise InvalidSubmission(_("The request is not valid multipart form data: %(error)s") % {"error": err}) from None
    xml_file = files.get(XML_PART)
    if xml_file is None:
        raise InvalidSubmission(_("The request has no '%(part)s' part.") % {"part": XML_PART})
    if (xml_file.size or 0) > settings.OPENROSA_MAX_SUBMISSION_BYTES:
        raise TooLarge(_("The submission XML is too large."))
    attachments = [f for key in files for f in files.getlist(key) if key != XML_PART]
    return MultipartParts(xml=xml_file.read(), attachments=attachments, is_incomplete=is_incomplete)


def multipart_ingest(request: HttpRequest, sender: Sender) -> IngestResult:
    """A multipart post through the ingest service, stored first, exactly once."""
    parts = multipart_parts(request)
    return submission_ingest_xml(xml=parts.xml, sender=sender, attachments=parts.attachments,
                                 is_incomplete=parts.is_incomplete)


def submission_answer(result: IngestResult) -> HttpResponse:
    """OpenRosa's answer to a stored post: 201 for a new instance, 202 for one received already."""
    return openrosa_response(xml.response_message(_message(result), nature="submit_success"),
                             status=201 if result.created else 202)


def _message(result: IngestResult) -> str:
    if result.created:
        return _("Full submission upload was successful!") if result.submission.complete else _("Part received.")
    if result.attachments_added:
        return _("Attachments merged: %(files)s.") % {"files": ", ".join(result.attachments_added)}
    return _("Duplicate submission: already received.")


def _json(request: HttpRequest, sender: Sender) -> HttpResponse:
    """KoBo's JSON submission answer, in JSON, with OpenRosa's status codes."""
    try:
        try:
            body = request.body
        except RequestDataTooBig:
            raise TooLarge(_("The submission is too large.")) from None
        result = submission_ingest_json(body=body, sender=sender)
    except Exception as exc:
        err = exc if isinstance(exc, MtmError) else refused_input(exc)
        if err is None:
            raise  # openrosa_view answers 500
        return retry_after(JsonResponse({"error": err.message}, status=http_status(err)))
    sub = result.submission
    answer = {
        "message": "Successful submission." if result.created else "Duplicate submission.",
        "formid": sub.form_id,
        "encrypted": False,
        "instanceID": sub.instance_id,
        "submissionDate": timezone.localtime(sub.received_at).isoformat(),
        "markedAsCompleteDate": timezone.localtime(sub.updated_at).isoformat(),
    }
    response = JsonResponse(answer, status=201 if result.created else 202, json_dumps_params={"ensure_ascii": False})
    response["X-OpenRosa-Version"] = "1.0"
    return response


