"""KoboToolbox's ``/export-settings/`` and ``/exports/`` of an asset."""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.kobo.base import KoboView
from surveys.api.kobo.renderers import FastJSONRenderer, IgnoreClientContentNegotiation
from surveys.api.schema import SchemaExtras, errors, with_fields
from surveys.models import KoboExportSetting, RecordExport
from surveys.selectors.kobo.assets import Asset
from surveys.services.kobo.exports import (
    KOBO_TYPES,
    export_setting_create,
    export_setting_delete,
    export_setting_for,
    export_setting_update,
    export_setting_write,
    export_settings_for,
    kobo_export_create,
    kobo_export_for,
    kobo_exports_for,
)

#: Our export states as KoboToolbox names them.
STATUS = {"pending": "created", "processing": "processing", "complete": "complete", "error": "error"}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@with_fields(fields=serializers.ListField(child=serializers.CharField(), required=False, help_text="Must be empty"))
class KoboExportPayloadSerializer(SchemaExtras, serializers.Serializer):
    """KoboToolbox's export payload. ``type`` and ``lang`` are applied; ``fields``, ``query`` and
    ``submission_ids`` are refused when set (the data endpoint filters); the other options are kept as sent."""

    additional_properties = True
    type = serializers.CharField(required=False, help_text="xls (the default) or csv")
    lang = serializers.CharField(required=False, help_text="_xml for values, _default (the default) or a "
                                                           "language for labels")
    query = serializers.DictField(required=False, help_text="Must be empty")
    submission_ids = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Must be empty")
    group_sep = serializers.CharField(required=False)
    multiple_select = serializers.CharField(required=False)
    hierarchy_in_labels = serializers.BooleanField(required=False)
    fields_from_all_versions = serializers.BooleanField(required=False)


class KoboExportSettingBodySerializer(serializers.Serializer):
    """A named export setting: ``name`` unique per asset and account."""

    name = serializers.CharField()
    export_settings = KoboExportPayloadSerializer()


class KoboExportSettingSerializer(serializers.Serializer):
    """A saved export setting (:func:`setting_json`); its ``data_url_*`` write the records as it asks."""

    url = serializers.URLField()
    uid = serializers.CharField()
    name = serializers.CharField()
    date_modified = serializers.DateTimeField()
    export_settings = KoboExportPayloadSerializer()
    data_url_csv = serializers.URLField()
    data_url_xlsx = serializers.URLField()


class KoboExportSettingListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="Null: one page")
    previous = serializers.URLField(allow_null=True, help_text="Null: one page")
    results = KoboExportSettingSerializer(many=True)


@with_fields(
    source=serializers.URLField(help_text="The asset"),
    fields=serializers.ListField(child=serializers.CharField()),
)
class KoboExportDataSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=sorted(KOBO_TYPES.values()))
    lang = serializers.CharField(help_text="_xml for values, _default or a language for labels")
    group_sep = serializers.CharField()
    multiple_select = serializers.CharField()
    hierarchy_in_labels = serializers.BooleanField()
    fields_from_all_versions = serializers.BooleanField()
    round = serializers.IntegerField(help_text="The round's number")
    rows = serializers.IntegerField(help_text="Records written")


class KoboExportMessagesSerializer(serializers.Serializer):
    error = serializers.ListField(child=serializers.CharField(), required=False)


@with_fields(data=KoboExportDataSerializer())
class KoboExportSerializer(serializers.Serializer):
    """An export (:func:`export_json`): poll ``url`` until ``status`` is ``complete``, then download ``result``."""

    url = serializers.URLField()
    uid = serializers.CharField()
    status = serializers.ChoiceField(choices=list(STATUS.values()))
    messages = KoboExportMessagesSerializer()
    date_created = serializers.DateTimeField()
    last_submission_time = serializers.DateTimeField(allow_null=True, help_text="Null here")
    result = serializers.URLField(allow_null=True, help_text="The file, once complete")


class KoboExportListSerializer(serializers.Serializer):
    """This account's latest 100 exports of the asset, newest first."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="Null: one page")
    previous = serializers.URLField(allow_null=True, help_text="Null: one page")
    results = KoboExportSerializer(many=True)


def _absolute(request: Request, name: str, **kwargs: Any) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs))


def export_json(export: RecordExport, asset: Asset, request: Request) -> dict[str, Any]:
    options = export.options or {}
    return {
        "url": _absolute(request, "kobo-export", uid=asset.uid, export_uid=export.uid),
        "uid": export.uid,
        "status": STATUS.get(export.status, export.status),
        "messages": {"error": [export.error]} if export.error else {},
        "date_created": export.created_at.isoformat(),
        "last_submission_time": None,
        "result": (request.build_absolute_uri(reverse("api-export-file", args=[export.uid]))
                   if export.status == RecordExport.Status.COMPLETE else None),
        "data": {"type": KOBO_TYPES.get(export.fmt, export.fmt),
                 "lang": (options.get("lang") or "_default") if options.get("labels") else "_xml",
                 "source": _absolute(request, "kobo-asset", uid=asset.uid), "fields": [],
                 "group_sep": "/", "multiple_select": "both", "hierarchy_in_labels": False,
                 "fields_from_all_versions": False, "round": export.round.number, "rows": export.rows},
    }


def setting_json(setting: KoboExportSetting, asset: Asset, request: Request) -> dict[str, Any]:
    def data_url(fmt: str) -> str:
        return _absolute(request, f"kobo-export-setting-{fmt}", uid=asset.uid, setting_uid=setting.uid)

    return {"url": _absolute(request, "kobo-export-setting", uid=asset.uid, setting_uid=setting.uid),
            "uid": setting.uid, "name": setting.name, "date_modified": setting.date_modified.isoformat(),
            "export_settings": setting.export_settings, "data_url_csv": data_url("csv"),
            "data_url_xlsx": data_url("xlsx")}


def _listing(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(results), "next": None, "previous": None, "results": results}


class ExportSettingList(KoboView):
    """Saved export settings of the asset (this account's): GET, POST ``{"name", "export_settings"}``."""

    @extend_schema(responses={200: KoboExportSettingListSerializer, **errors(403, 404)},
                   operation_id="kobo_export_settings_list")
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        found = list(export_settings_for(user=request.user, asset=asset))
        return Response(_listing([setting_json(s, asset, request) for s in found]))

    @extend_schema(request=KoboExportSettingBodySerializer,
                   responses={201: KoboExportSettingSerializer, **errors(400, 403, 404)})
    def post(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        data = request.data if isinstance(request.data, dict) else {}
        setting = export_setting_create(user=request.user, asset=asset, name=data.get("name"),
                                        export_settings=data.get("export_settings"))
        return Response(setting_json(setting, asset, request), status=status.HTTP_201_CREATED)


class ExportSettingDetail(KoboView):
    @extend_schema(responses={200: KoboExportSettingSerializer, **errors(403, 404)},
                   operation_id="kobo_export_setting_retrieve")
    def get(self, request: Request, uid: str, setting_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        setting = export_setting_for(user=request.user, asset=asset, uid=setting_uid)
        return Response(setting_json(setting, asset, request))

    @extend_schema(request=KoboExportSettingBodySerializer,
                   responses={200: KoboExportSettingSerializer, **errors(400, 403, 404)})
    def patch(self, request: Request, uid: str, setting_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        data = request.data if isinstance(request.data, dict) else {}
        setting = export_setting_update(user=request.user, asset=asset, uid=setting_uid, name=data.get("name"),
                                        export_settings=data.get("export_settings"))
        return Response(setting_json(setting, asset, request))

    @extend_schema(responses={204: None, **errors(403, 404)})
    def delete(self, request: Request, uid: str, setting_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        export_setting_delete(user=request.user, asset=asset, uid=setting_uid)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExportSettingData(KoboView):
    """``data_url_csv`` / ``data_url_xlsx``: the records as the setting asks, written now."""

    renderer_classes = [FastJSONRenderer]
    content_negotiation_class = IgnoreClientContentNegotiation

    @extend_schema(responses={
        (200, CONTENT_TYPES["csv"].split(";")[0]): OpenApiResponse(
            OpenApiTypes.BINARY, description="data.csv: the records as CSV (UTF-8 with a BOM); data.xlsx: a workbook"),
        (200, CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY, **errors(400, 403, 404)})
    def get(self, request: Request, uid: str, setting_uid: str, fmt: str) -> FileResponse:
        asset = self.asset(request, uid)
        out = tempfile.TemporaryFile()
        export_setting_write(user=request.user, asset=asset, uid=setting_uid, fmt=fmt, out=out)
        out.seek(0)
        return FileResponse(out, as_attachment=True, content_type=CONTENT_TYPES[fmt],
                            filename=f"{asset.form_id}.{fmt}")


class ExportList(KoboView):
    """Exports of the asset: GET lists this account's, POST (KoboToolbox's payload) asks for a new one."""

    @extend_schema(responses={200: KoboExportListSerializer, **errors(403, 404)}, operation_id="kobo_exports_list")
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        found = list(kobo_exports_for(user=request.user, asset=asset)[:100])
        return Response(_listing([export_json(e, asset, request) for e in found]))

    @extend_schema(request=KoboExportPayloadSerializer, responses={201: KoboExportSerializer, **errors(400, 403, 404)})
    def post(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        settings = request.data if isinstance(request.data, dict) else {}
        export = kobo_export_create(user=request.user, asset=asset, settings=settings)
        export.refresh_from_db()
        return Response(export_json(export, asset, request), status=status.HTTP_201_CREATED)


class ExportDetail(KoboView):
    """One export; poll until ``status`` is ``complete``, then download ``result``."""

    @extend_schema(parameters=[OpenApiParameter("export_uid", str, OpenApiParameter.PATH)],
                   responses={200: KoboExportSerializer, **errors(403, 404)}, operation_id="kobo_export_retrieve")
    def get(self, request: Request, uid: str, export_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        export = kobo_export_for(user=request.user, asset=asset, uid=export_uid)
        return Response(export_json(export, asset, request))
