"""``/api/v1/exports/``: ask for a round's records as CSV or XLSX (made by a
Celery task), poll it, download it."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mtm.errors import NotFound
from surveys.api.schema import errors
from surveys.models import RecordExport
from surveys.selectors.exports import record_export_for_user
from surveys.selectors.scope import ensure_submission_viewer
from surveys.services.exports import record_export_create


class ExportRequestSerializer(serializers.Serializer):
    form_id = serializers.CharField(max_length=100)
    round = serializers.IntegerField(required=False, allow_null=True, default=None,
                                     help_text="The round's id; the form's latest round when left out.")
    format = serializers.ChoiceField(choices=RecordExport.Format.values, default="xlsx")
    labels = serializers.BooleanField(default=False)
    lang = serializers.CharField(required=False, allow_null=True, default=None)
    sheet = serializers.CharField(required=False, allow_null=True, default=None,
                                  help_text="CSV only: a repeat's path or sheet name instead of the records.")


class ExportOptionsSerializer(serializers.Serializer):
    labels = serializers.BooleanField(required=False)
    lang = serializers.CharField(allow_null=True, required=False)
    sheet = serializers.CharField(allow_null=True, required=False)


class ExportSerializer(serializers.Serializer):
    """An export (:func:`export_json`): poll ``url`` until ``status`` is ``complete``, then download ``result``."""

    uid = serializers.CharField()
    form_id = serializers.CharField()
    round = serializers.IntegerField(help_text="The round's number")
    format = serializers.ChoiceField(choices=RecordExport.Format.values)
    options = ExportOptionsSerializer()
    status = serializers.ChoiceField(choices=RecordExport.Status.values)
    rows = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.URLField()
    result = serializers.URLField(allow_null=True, help_text="The file, once complete")


class ExportListSerializer(serializers.Serializer):
    """This account's latest 100 exports, newest first."""

    results = ExportSerializer(many=True)


def export_json(export: RecordExport, request: Request) -> dict:
    done = export.status == RecordExport.Status.COMPLETE
    return {"uid": export.uid, "form_id": export.form_id, "round": export.round.number, "format": export.fmt,
            "options": export.options, "status": export.status, "rows": export.rows, "error": export.error,
            "created_at": export.created_at.isoformat(),
            "finished_at": export.finished_at.isoformat() if export.finished_at else None,
            "url": request.build_absolute_uri(reverse("api-export", args=[export.uid])),
            "result": request.build_absolute_uri(reverse("api-export-file", args=[export.uid])) if done else None}


class ExportList(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ExportListSerializer, **errors(403)}, operation_id="v1_exports_list")
    def get(self, request: Request) -> Response:
        viewer = ensure_submission_viewer(request.user)
        exports = RecordExport.objects.filter(requested_by=viewer).select_related("round")[:100]
        return Response({"results": [export_json(e, request) for e in exports]})

    @extend_schema(request=ExportRequestSerializer, responses={201: ExportSerializer, **errors(400, 403, 404)})
    def post(self, request: Request) -> Response:
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        export = record_export_create(
            user=request.user, form_id=data["form_id"], round_id=data["round"], fmt=data["format"],
            labels=data["labels"], lang=data["lang"], sheet=data["sheet"])
        export.refresh_from_db()
        return Response(export_json(export, request), status=201)


class ExportDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ExportSerializer, **errors(403, 404)})
    def get(self, request: Request, uid: str) -> Response:
        export = record_export_for_user(user=request.user, uid=uid)
        return Response(export_json(export, request))


class ExportFile(APIView):
    """The file itself, whatever the client's Accept header says."""

    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV (UTF-8 with a BOM) or XLSX file"),
        (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        **errors(403, 404, 409)})
    def get(self, request: Request, uid: str) -> FileResponse | Response:
        export = record_export_for_user(user=request.user, uid=uid)
        if export.status != RecordExport.Status.COMPLETE:
            return Response({"detail": f"The export is {export.status}."}, status=409)
        content_type = ("text/csv; charset=utf-8" if export.fmt == "csv" else
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        try:
            handle = export.file.open("rb")
        except (FileNotFoundError, ValueError):  # taken off the disk, or its name lost
            raise NotFound("The export's file is no longer on the server; create the export again.") from None
        return FileResponse(handle, as_attachment=True, content_type=content_type,
                            filename=(export.file.name or "").rsplit("/", 1)[-1])
