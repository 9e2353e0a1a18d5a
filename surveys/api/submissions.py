"""``/api/v1/submissions/``: submissions with their validation, flags,
review state and released answers; the review PATCH; the raw body and
attachments for the data-protection role."""

from __future__ import annotations

import mimetypes

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mtm.errors import NotFound
from surveys.api.schema import FORM, SchemaExtras, errors
from surveys.models import Submission
from surveys.release import answers_released
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.selectors.submissions import (
    submission_attachment_for_user,
    submission_for_user,
    submission_raw_for_user,
    submissions_for_user,
)
from surveys.services.encrypted_submissions import submission_media_decrypted
from surveys.services.raw_store import open_chunks, raw_open
from surveys.services.review import submission_review


class ProblemSerializer(serializers.Serializer):
    """A validation problem: the answer's group path, its kind and a message."""

    path = serializers.CharField()
    code = serializers.CharField(help_text="constraint, required, type, not_relevant, unknown_field, expression")
    message = serializers.CharField()


class SubmissionValidationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Submission.Validation.values)
    problems = ProblemSerializer(many=True)


class FlagSerializer(serializers.Serializer):
    """A quality check the interview failed."""

    check = serializers.CharField()
    reason = serializers.CharField()


class SubmissionReviewStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Submission.Review.values, allow_null=True)
    by = serializers.CharField(allow_null=True, help_text="The reviewer; null for the server's own checks")
    at = serializers.DateTimeField(allow_null=True)


class SubmissionSerializer(serializers.Serializer):
    """A submission with its validation, flags, review state and released answers.
    :meth:`to_representation` writes it; the fields document that shape (the OpenAPI schema)."""

    instance_id = serializers.CharField()
    form_id = serializers.CharField()
    version = serializers.CharField()
    round = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    submitted_by = serializers.CharField(allow_null=True)
    validation = SubmissionValidationSerializer()
    flags = FlagSerializer(many=True)
    review = SubmissionReviewStateSerializer()
    answers = serializers.DictField(help_text="The released answers (anonymised, identifiers left out) by group "
                                              "path, typed; a repeat is a list of such objects")

    def to_representation(self, sub: Submission) -> dict:
        schema = questionnaire_schema(pk=sub.questionnaire_id, key=sub.questionnaire.schema_key)
        return {
            "instance_id": sub.instance_id,
            "form_id": sub.form_id,
            "version": sub.questionnaire.version,
            "round": sub.questionnaire.round.number,
            "received_at": sub.received_at.isoformat(),
            "submitted_by": sub.submitted_by.username if sub.submitted_by else None,
            "validation": {"status": sub.validation, "problems": sub.problems},
            "flags": [{"check": f.check_name, "reason": f.reason} for f in sub.flags.all()],
            "review": {"status": sub.review_status,
                       "by": sub.reviewed_by.username if sub.reviewed_by else None,
                       "at": sub.reviewed_at.isoformat() if sub.reviewed_at else None},
            "answers": answers_released(answers=sub.answers, schema=schema),
        }


class ReviewSerializer(SchemaExtras, serializers.Serializer):
    """A review: the new state (``null`` clears it) and an optional comment."""

    status = serializers.CharField(allow_null=True, help_text="approved, not_approved or on_hold; null clears "
                                                              "the review")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    whole_on_patch = True


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


@extend_schema_view(get=extend_schema(parameters=[
    OpenApiParameter("form", str, description="Only this form's submissions"),
    OpenApiParameter("status", str, enum=Submission.Validation.values, description="Validation status"),
    OpenApiParameter("flag", str, description="Only submissions flagged by this check"),
    OpenApiParameter("review", str, enum=[*Submission.Review.values, "none"],
                     description="Review state; none for submissions not reviewed"),
    OpenApiParameter("history", bool, description="Also the versions replaced by an edit"),
], responses={200: SubmissionSerializer(many=True), **errors(400, 403)}))
class SubmissionList(ListAPIView):
    """``?form=<form_id>&status=valid|invalid|pending&flag=<check>&review=<state>|none``; versions
    replaced by an edit only with ``&history=true``."""

    serializer_class = SubmissionSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    def get_queryset(self):
        params = self.request.query_params
        status = params.get("status")
        if status and status not in Submission.Validation.values:
            raise ValidationError({"status": [f"Must be one of {', '.join(Submission.Validation.values)}."]})
        review = params.get("review")
        if review and review != "none" and review not in Submission.Review.values:
            raise ValidationError({"review": [f"Must be one of {', '.join(Submission.Review.values)} or none."]})
        return submissions_for_user(
            user=self.request.user, form_id=params.get("form"), validation=status, flag=params.get("flag"),
            review=review, current_only=params.get("history", "").lower() not in ("1", "true", "yes"))


class SubmissionDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[FORM], responses={200: SubmissionSerializer, **errors(403, 404)})
    def get(self, request: Request, instance_id: str) -> Response:
        sub = submission_for_user(user=request.user, instance_id=instance_id,
                                                            form_id=request.query_params.get("form"))
        return Response(SubmissionSerializer(sub).data)


class SubmissionReview(APIView):
    """``PATCH {"status": "approved|not_approved|on_hold|null", "comment": "…"}``"""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[FORM], request=ReviewSerializer,
                   responses={200: SubmissionSerializer, **errors(400, 403, 404)})
    def patch(self, request: Request, instance_id: str) -> Response:
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sub = submission_for_user(user=request.user, instance_id=instance_id,
                                                            form_id=request.query_params.get("form"))
        submission_review(submission_id=sub.pk, status=body.validated_data["status"],
                                          by=request.user, comment=body.validated_data["comment"])
        fresh = submission_for_user(user=request.user, instance_id=instance_id, form_id=sub.form_id)
        return Response(SubmissionSerializer(fresh).data)


class SubmissionRaw(APIView):
    """``GET …/<instance_id>/raw``: the body exactly as received (data-protection role); 410 once purged."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[FORM], responses={
        (200, "text/xml"): OpenApiResponse(OpenApiTypes.BINARY, description="The body as received: the "
                                           "OpenRosa instance (text/xml) or the KoBo JSON (application/json)"),
        (200, "application/json"): OpenApiTypes.BINARY, **errors(403, 404, 410)})
    def get(self, request: Request, instance_id: str) -> HttpResponse:
        sub = submission_raw_for_user(user=request.user, instance_id=instance_id,
                                                form_id=request.query_params.get("form"))
        if sub.raw_purged_at is not None:
            return Response({"detail": f"The raw data were purged on {sub.raw_purged_at:%Y-%m-%d}."}, status=410)
        content_type = "application/json" if sub.raw_format == Submission.Format.JSON else "text/xml"
        return HttpResponse(raw_open(sub.raw_body), content_type=f"{content_type}; charset=utf-8")


class SubmissionAttachmentDownload(APIView):
    """``GET /api/v1/submissions/<instance_id>/attachments/<filename>?form=<form_id>``:
    the file as received, opened from the raw store as it streams (data-protection role). An encrypted
    interview's media are asked for by their own names (``photo.jpg``, not ``photo.jpg.enc``) and decrypted
    on request: 409 while the form's private key is not given, 400 when the interview does not open."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[FORM], responses={
        (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, with its own content type; an "
                                      "encrypted interview's media file decrypted on request"),
        **errors(400, 403, 404, 409)})
    def get(self, request: Request, instance_id: str, filename: str) -> StreamingHttpResponse:
        form_id = request.query_params.get("form", "")
        try:
            attachment = submission_attachment_for_user(user=request.user, form_id=form_id, instance_id=instance_id,
                                                        filename=filename)
        except NotFound:
            # An encrypted interview's media: decrypted on request (the store keeps only the .enc files).
            sub = submission_raw_for_user(user=request.user, instance_id=instance_id, form_id=form_id or None)
            content = submission_media_decrypted(sub, filename)
            response = StreamingHttpResponse(iter([content]), content_type=_content_type(filename))
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            response["Content-Length"] = str(len(content))
            return response
        response = StreamingHttpResponse(open_chunks(attachment.file.open("rb")),
                                         content_type=attachment.content_type)
        response["Content-Disposition"] = f'attachment; filename="{attachment.filename}"'
        response["Content-Length"] = str(attachment.size)
        return response


def _content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
