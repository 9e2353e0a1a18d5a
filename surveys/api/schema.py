"""The OpenAPI schema of the whole API (``/api/schema/``, drf-spectacular).

Our v1 views are plain ``APIView``s that render read models: their
operations are described here, next to the hook that leaves the ``.json``
suffix duplicates of the KoBo routes out of the schema (they answer the same
as the routes without the suffix)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from surveys.api import questionnaires, rounds, submissions

OBJECT = OpenApiTypes.OBJECT
FORM = OpenApiParameter("form", str, description="The form_id, when an instanceID names submissions of several forms")


def drop_format_suffixes(endpoints, **kwargs):
    """Preprocessing hook: the ``{format}`` suffix routes are the same operations as their plain routes."""
    return [endpoint for endpoint in endpoints if "{format}" not in endpoint[0]]


def describe_v1() -> None:
    """Describe the v1 views' operations (run once, when the URLs load)."""
    extend_schema_view(get=extend_schema(parameters=[FORM], responses={200: OBJECT}))(submissions.SubmissionDetail)
    extend_schema_view(patch=extend_schema(parameters=[FORM], request=submissions.ReviewSerializer,
                                           responses={200: OBJECT}))(submissions.SubmissionReview)
    extend_schema_view(get=extend_schema(parameters=[FORM], responses={(200, "application/octet-stream"): bytes}))(
        submissions.SubmissionRaw)
    extend_schema_view(get=extend_schema(parameters=[OpenApiParameter("k", int)], responses={200: OBJECT}))(
        rounds.RoundRisk)
    extend_schema_view(get=extend_schema(parameters=[OpenApiParameter(name, str) for name in
                                                     ("form", "by", "compare", "lang")],
                                         responses={200: OBJECT}))(rounds.RoundReport)
    extend_schema_view(get=extend_schema(parameters=[FORM],
                                         responses={(200, "application/octet-stream"): bytes}))(
        submissions.SubmissionAttachmentDownload)
    extend_schema_view(post=extend_schema(request={"multipart/form-data": questionnaires.XLSFormUploadSerializer},
                                          responses={200: questionnaires.QuestionnaireSerializer,
                                                     201: questionnaires.QuestionnaireSerializer}))(
        questionnaires.QuestionnaireList)
