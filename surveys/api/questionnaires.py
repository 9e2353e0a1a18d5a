"""``/api/v1/questionnaires/``: questionnaire versions; an XLSForm upload imports one (with its media files);
``/api/v1/questionnaires/<form_id>/media/``: the files a version needs, present or missing, and their upload."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.schema import errors
from surveys.models import Questionnaire
from surveys.selectors.questionnaires import questionnaire_version
from surveys.services.questionnaire_media import MediaUpload, questionnaire_media_add
from surveys.services.questionnaires import questionnaire_import


class XLSFormUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    survey = serializers.SlugField(required=False, allow_blank=True, max_length=64)
    round = serializers.IntegerField(required=False, min_value=1)
    allow_anonymous = serializers.BooleanField(required=False, default=False)
    media = serializers.ListField(child=serializers.FileField(), required=False, default=list,
                                  help_text="Media files the form needs (images, audio, video, CSV/XML/GeoJSON).")


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(), allow_empty=False,
                                 help_text="One or more files the form needs (repeat the part for more).")
    version = serializers.CharField(required=False, max_length=100,
                                    help_text="The version to attach them to; the form's latest by default.")


class QuestionnaireSerializer(serializers.ModelSerializer):
    survey = serializers.CharField(source="round.survey.slug")
    round = serializers.IntegerField(source="round.number")
    hash = serializers.SerializerMethodField()

    class Meta:
        model = Questionnaire
        fields = ["form_id", "version", "title", "survey", "round", "hash", "allow_anonymous", "created_at"]

    def get_hash(self, obj: Questionnaire) -> str:
        return f"md5:{obj.md5}"


class MediaFileSerializer(serializers.Serializer):
    """A file the version needs: present (with the manifest's hash) or missing."""

    filename = serializers.CharField()
    type = serializers.CharField(help_text="image, audio, video or file")
    present = serializers.BooleanField()
    hash = serializers.CharField(allow_null=True, help_text="md5:… of the attached file; null while missing")


def media_status(questionnaire: Questionnaire) -> list[dict[str, object]]:
    attached = {m.filename: m for m in questionnaire.media.all()}
    return [{"filename": f["filename"], "type": f["type"], "present": f["filename"] in attached,
             "hash": f"md5:{attached[f['filename']].md5}" if f["filename"] in attached else None}
            for f in questionnaire.media_needed]


class QuestionnaireImportSerializer(QuestionnaireSerializer):
    """The imported (or already stored) version, with pyxform's warnings about the form and its media."""

    warnings = serializers.ListField(child=serializers.CharField())
    media = MediaFileSerializer(many=True)

    class Meta(QuestionnaireSerializer.Meta):
        fields = [*QuestionnaireSerializer.Meta.fields, "warnings", "media"]


class QuestionnaireMediaSerializer(serializers.Serializer):
    form_id = serializers.CharField()
    version = serializers.CharField()
    added = serializers.ListField(child=serializers.CharField(), help_text="The files this request stored")
    media = MediaFileSerializer(many=True)


@extend_schema_view(get=extend_schema(responses={200: QuestionnaireSerializer(many=True), **errors(403)}))
class QuestionnaireList(ListAPIView):
    """``GET`` lists questionnaire versions; ``POST`` (multipart ``file``,
    optional ``survey``, ``round``, ``allow_anonymous``, ``media`` files) imports an XLSForm:
    201 new version, 200 same version already stored, 400 with pyxform's
    row-numbered message (about ``file``), 409 same version with different content
    or a version stored in another round."""

    serializer_class = QuestionnaireSerializer
    permission_classes = [IsAuthenticated, DjangoModelPermissions]
    queryset = Questionnaire.objects.select_related("round__survey").order_by("form_id", "-created_at")
    #: A form the import refuses is an error about the uploaded file.
    domain_error_field = "file"

    @extend_schema(request={"multipart/form-data": XLSFormUploadSerializer},
                   responses={200: QuestionnaireImportSerializer, 201: QuestionnaireImportSerializer,
                              **errors(400, 403, 409, 413)})
    def post(self, request: Request) -> Response:
        upload = XLSFormUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        result = questionnaire_import(
            source=data["file"].read(), filename=data["file"].name, survey_slug=data.get("survey") or None,
            round_number=data.get("round"), created_by=request.user if request.user.is_authenticated else None,
            allow_anonymous=data["allow_anonymous"],
            media=[MediaUpload(filename=f.name, content=f.read()) for f in data["media"]],
        )
        q = result.questionnaire
        body = QuestionnaireSerializer(q).data | {"warnings": result.warnings, "media": media_status(q)}
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class QuestionnaireMedia(GenericAPIView):
    """``GET``: the files a version of the form needs (``?version=``, the latest by default), present or
    missing; ``POST`` (multipart ``file``, repeated for more, optional ``version``) attaches them: 201 when a
    file was stored, 200 when all were there already, 400 for a file the form does not use or cannot read
    (nothing stored), 404 for an unknown form or version, 409 replacing a file of a version with interviews."""

    permission_classes = [IsAuthenticated, DjangoModelPermissions]
    queryset = Questionnaire.objects.all()
    serializer_class = QuestionnaireMediaSerializer
    domain_error_field = "file"

    @extend_schema(responses={200: QuestionnaireMediaSerializer, **errors(403, 404)})
    def get(self, request: Request, form_id: str) -> Response:
        q = questionnaire_version(form_id=form_id, version=request.query_params.get("version") or None)
        return Response(self._body(q, added=[]))

    @extend_schema(request={"multipart/form-data": MediaUploadSerializer},
                   responses={200: QuestionnaireMediaSerializer, 201: QuestionnaireMediaSerializer,
                              **errors(400, 403, 404, 409, 413)})
    def post(self, request: Request, form_id: str) -> Response:
        upload = MediaUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        q = questionnaire_version(form_id=form_id, version=data.get("version") or None)
        added = questionnaire_media_add(
            questionnaire=q, files=[MediaUpload(filename=f.name, content=f.read()) for f in data["file"]])
        return Response(self._body(q, added=added),
                        status=status.HTTP_201_CREATED if added else status.HTTP_200_OK)

    @staticmethod
    def _body(q: Questionnaire, *, added: list[str]) -> dict[str, object]:
        return {"form_id": q.form_id, "version": q.version, "added": added, "media": media_status(q)}
