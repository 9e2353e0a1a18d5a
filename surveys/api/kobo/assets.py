"""KoboToolbox's assets: the list, one asset (with its ``content`` and deployment), its content."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.kobo.base import AssetPagination, KoboView
from surveys.api.kobo.content import KoboContentSerializer, asset_content
from surveys.api.schema import errors, with_fields
from surveys.selectors.kobo.assets import Asset, assets_for_user


# The asset as KoboToolbox's API returns it (asset_summary), for the OpenAPI schema.
def _empty(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(help_text=kwargs.pop("help_text", "KoboToolbox's; empty here"), **kwargs)


def _none(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_null=True, help_text="KoboToolbox's; null here", **kwargs)


class KoboAssetSettingsSerializer(serializers.Serializer):
    description = serializers.CharField(allow_blank=True)
    sector = _empty()
    country = serializers.ListField(child=serializers.CharField(), help_text="Empty here")
    survey = serializers.CharField(help_text="Our survey's slug")
    round = serializers.IntegerField(help_text="The current version's round")


class KoboAssetSummarySerializer(serializers.Serializer):
    geo = serializers.BooleanField()
    labels = serializers.ListField(child=serializers.CharField(), help_text="The first questions' labels")
    columns = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField(allow_null=True))
    row_count = serializers.IntegerField()
    default_translation = serializers.CharField(allow_null=True)


class KoboDeployedVersionSerializer(serializers.Serializer):
    uid = serializers.CharField(help_text="The version")
    url = serializers.URLField()
    content_hash = serializers.CharField()
    date_deployed = serializers.DateTimeField()
    date_modified = serializers.DateTimeField()


class KoboDeployedVersionsSerializer(serializers.Serializer):
    """Every version of the form, newest first (one page)."""

    count = serializers.IntegerField()
    next = _none()
    previous = _none()
    results = KoboDeployedVersionSerializer(many=True)


class KoboDeploymentLinksSerializer(serializers.Serializer):
    url = serializers.URLField()
    xform_url = serializers.URLField()


class KoboDownloadLinksSerializer(serializers.Serializer):
    xls = serializers.URLField()
    csv = serializers.URLField()
    geojson = serializers.URLField()
    xml = serializers.URLField()


class KoboReportStylesSerializer(serializers.Serializer):
    default = _empty()
    specified = _empty()
    kuid_names = _empty()


class KoboDownloadSerializer(serializers.Serializer):
    format = serializers.CharField()
    url = serializers.URLField()


class KoboChildrenSerializer(serializers.Serializer):
    count = serializers.IntegerField()


@with_fields(parent=_none(), data=serializers.URLField())
class KoboAssetSerializer(serializers.Serializer):
    """An asset (one per form) as KoboToolbox's asset list returns it (:func:`asset_summary`)."""

    url = serializers.URLField()
    owner = _none()
    owner__username = serializers.CharField(allow_blank=True, help_text="Who imported the current version")
    settings = KoboAssetSettingsSerializer()
    asset_type = serializers.CharField(help_text='"survey"')
    date_created = serializers.DateTimeField()
    date_modified = serializers.DateTimeField()
    date_deployed = serializers.DateTimeField()
    summary = KoboAssetSummarySerializer()
    version_id = serializers.CharField()
    version__content_hash = serializers.CharField()
    version_count = serializers.IntegerField()
    has_deployment = serializers.BooleanField()
    deployed_version_id = serializers.CharField()
    deployed_versions = KoboDeployedVersionsSerializer()
    deployment__identifier = serializers.URLField()
    deployment__active = serializers.BooleanField()
    deployment__submission_count = serializers.IntegerField(help_text="Records this account may see")
    deployment__links = KoboDeploymentLinksSerializer()
    deployment__data_download_links = KoboDownloadLinksSerializer()
    deployment_status = serializers.ChoiceField(choices=["deployed", "archived"])
    report_styles = KoboReportStylesSerializer()
    report_custom = _empty()
    map_styles = _empty()
    map_custom = _empty()
    downloads = KoboDownloadSerializer(many=True)
    embeds = serializers.ListField(child=_empty(), help_text="Empty here")
    xform_link = serializers.URLField()
    hooks_link = _none()
    tag_string = serializers.CharField(allow_blank=True)
    uid = serializers.CharField()
    kind = serializers.CharField(help_text='"asset"')
    xls_link = _none()
    name = serializers.CharField()
    assignable_permissions = serializers.ListField(child=_empty(), help_text="Empty here")
    permissions = serializers.ListField(child=_empty(), help_text="Empty here")
    exports = serializers.URLField()
    export_settings = serializers.ListField(child=_empty(), help_text="Empty here")
    reports = serializers.URLField()
    children = KoboChildrenSerializer()
    subscribers_count = serializers.IntegerField()
    status = serializers.CharField(help_text='"private"')
    access_types = serializers.ListField(child=serializers.CharField(), allow_null=True, help_text="Null here")
    data_sharing = _empty()
    paired_data = _none()


class KoboAssetDetailSerializer(KoboAssetSerializer):
    """One asset, as in the list, with its current version's ``content``."""

    content = KoboContentSerializer()


@with_fields(data=KoboContentSerializer())
class KoboAssetContentSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text='"asset.content"')
    uid = serializers.CharField()


class AssetList(KoboView):
    """KoboToolbox's asset list: the forms this account may see, one asset per form."""

    pagination_class = AssetPagination

    @extend_schema(parameters=[
        OpenApiParameter("q", str, description="KoboToolbox search: asset_type:survey, uid:…, name:…, words"),
        OpenApiParameter("asset_type", str), *AssetPagination.schema_parameters(),
    ], responses={200: KoboAssetSerializer(many=True), **errors(400)}, operation_id="kobo_assets_list")
    def get(self, request: Request, format: str | None = None) -> Response:
        params = request.query_params
        assets = assets_for_user(user=request.user, q=params.get("q"), asset_type=params.get("asset_type"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(assets, request, self)
        return paginator.get_paginated_response([asset_summary(a, request, with_content=False) for a in page])


class AssetDetail(KoboView):
    """One asset with its ``content`` and deployment."""

    @extend_schema(responses={200: KoboAssetDetailSerializer, **errors(404)}, operation_id="kobo_asset_retrieve")
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        return Response(asset_summary(self.asset(request, uid, counted=True), request, with_content=True))


class AssetContent(KoboView):
    """The asset's current content (``survey``, ``choices``, ``settings``, ``translations``)."""

    @extend_schema(responses={200: KoboAssetContentSerializer, **errors(404)})
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        return Response({"kind": "asset.content", "uid": asset.uid,
                         "data": asset_content(questionnaire=asset.current)})


def _url(request: Request, name: str, **kwargs: Any) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs))


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def asset_summary(asset: Asset, request: Request, *, with_content: bool) -> dict[str, Any]:
    """An asset as KoboToolbox's ``/api/v2/assets/`` (list) and ``/api/v2/assets/<uid>/`` (detail) return it."""
    uid = asset.uid
    current = asset.current
    schema = current.schema
    data_url = _url(request, "kobo-asset-data", uid=uid)
    languages = [None if lang == "default" else lang for lang in schema.get("languages") or ["default"]]
    body: dict[str, Any] = {
        "url": _url(request, "kobo-asset", uid=uid),
        "owner": None,
        "owner__username": current.created_by.username if current.created_by else "",
        "parent": None,
        "settings": {"description": current.round.survey.description, "sector": {}, "country": [],
                     "survey": current.round.survey.slug, "round": current.round.number},
        "asset_type": "survey",
        "date_created": _iso(asset.date_created),
        "date_modified": _iso(asset.date_modified),
        "date_deployed": _iso(asset.date_modified),
        "summary": {"geo": any(f["type"] == "geopoint" for f in schema.get("fields", [])),
                    "labels": [_first(f.get("label")) for f in schema.get("fields", [])[:5] if f.get("label")],
                    "columns": ["type", "name", "label", "required", "relevant", "calculation"],
                    "languages": languages, "row_count": len(schema.get("fields", [])),
                    "default_translation": languages[0] if languages else None},
        "version_id": current.version,
        "version__content_hash": current.md5,
        "version_count": len(asset.versions),
        "has_deployment": True,
        "deployed_version_id": current.version,
        "deployed_versions": {"count": len(asset.versions), "next": None, "previous": None,
                              "results": [{"uid": q.version, "url": f"{_url(request, 'kobo-asset', uid=uid)}"
                                           f"versions/{q.version}/", "content_hash": q.md5,
                                           "date_deployed": _iso(q.created_at), "date_modified": _iso(q.created_at)}
                                          for q in asset.versions]},
        "deployment__identifier": request.build_absolute_uri(f"/forms/{asset.form_id}/form.xml"),
        "deployment__active": asset.active,
        "deployment__submission_count": asset.submission_count,
        "deployment__links": {"url": request.build_absolute_uri("/"),
                              "xform_url": request.build_absolute_uri(f"/forms/{asset.form_id}/form.xml")},
        "deployment__data_download_links": {"xls": data_url, "csv": data_url, "geojson": f"{data_url}?format=geojson",
                                            "xml": f"{data_url}?format=xml"},
        "deployment_status": "deployed" if asset.active else "archived",
        "report_styles": {"default": {}, "specified": {}, "kuid_names": {}},
        "report_custom": {},
        "map_styles": {},
        "map_custom": {},
        "downloads": [{"format": "xml", "url": request.build_absolute_uri(f"/forms/{asset.form_id}/form.xml")}],
        "embeds": [],
        "xform_link": request.build_absolute_uri(f"/forms/{asset.form_id}/form.xml"),
        "hooks_link": None,
        "tag_string": "",
        "uid": uid,
        "kind": "asset",
        "xls_link": None,
        "name": asset.name,
        "assignable_permissions": [],
        "permissions": [],
        "exports": _url(request, "kobo-exports", uid=uid),
        "export_settings": [],
        "data": data_url,
        "reports": _url(request, "kobo-reports", uid=uid),
        "children": {"count": 0},
        "subscribers_count": 0,
        "status": "private",
        "access_types": None,
        "data_sharing": {},
        "paired_data": None,
    }
    if with_content:
        body["content"] = asset_content(questionnaire=current)
    return body


def _first(texts: dict[str, str] | None) -> str | None:
    return next(iter(texts.values()), None) if texts else None


