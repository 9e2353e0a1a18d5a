"""``/api/v1/questionnaires/``: questionnaire versions; an XLSForm upload imports one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.schema import errors
from surveys.models import Questionnaire
from surveys.services.questionnaires import questionnaire_import


class XLSFormUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    survey = serializers.SlugField(required=False, allow_blank=True, max_length=64)
    round = serializers.IntegerField(required=False, min_value=1)
    allow_anonymous = serializers.BooleanField(required=False, default=False)


class QuestionnaireSerializer(serializers.ModelSerializer):
    survey = serializers.CharField(source="round.survey.slug")
    round = serializers.IntegerField(source="round.number")
    hash = serializers.SerializerMethodField()

    class Meta:
        model = Questionnaire
        fields = ["form_id", "version", "title", "survey", "round", "hash", "allow_anonymous", "created_at"]

    def get_hash(self, obj: Questionnaire) -> str:
        return f"md5:{obj.md5}"


class QuestionnaireImportSerializer(QuestionnaireSerializer):
    """The imported (or already stored) version, with pyxform's warnings about the form."""

    warnings = serializers.ListField(child=serializers.CharField())

    class Meta(QuestionnaireSerializer.Meta):
        fields = [*QuestionnaireSerializer.Meta.fields, "warnings"]


@extend_schema_view(get=extend_schema(responses={200: QuestionnaireSerializer(many=True), **errors(403)}))
class QuestionnaireList(ListAPIView):
    """``GET`` lists questionnaire versions; ``POST`` (multipart ``file``,
    optional ``survey``, ``round``, ``allow_anonymous``) imports an XLSForm:
    201 new version, 200 same version already stored, 400 with pyxform's
    row-numbered message (about ``file``), 409 same version with different content."""

    serializer_class = QuestionnaireSerializer
    permission_classes = [IsAuthenticated, DjangoModelPermissions]
    queryset = Questionnaire.objects.select_related("round__survey").order_by("form_id", "-created_at")
    #: A form the import refuses is an error about the uploaded file.
    domain_error_field = "file"

    @extend_schema(request={"multipart/form-data": XLSFormUploadSerializer},
                   responses={200: QuestionnaireImportSerializer, 201: QuestionnaireImportSerializer,
                              **errors(400, 403, 409)})
    def post(self, request: Request) -> Response:
        upload = XLSFormUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        result = questionnaire_import(
            source=data["file"].read(), filename=data["file"].name, survey_slug=data.get("survey") or None,
            round_number=data.get("round"), created_by=request.user if request.user.is_authenticated else None,
            allow_anonymous=data["allow_anonymous"],
        )
        body = QuestionnaireSerializer(result.questionnaire).data | {"warnings": result.warnings}
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
