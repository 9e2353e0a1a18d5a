"""KoboToolbox's API v2: assets, content, data, validation statuses, reports."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.errors import domain
from surveys.api.kobo.renderers import FastJSONRenderer, GeoJSONRenderer, XMLRenderer
from surveys.api.kobo.serializers import BulkValidationStatusBody, ValidationStatusBody, asset_summary
from surveys.services.kobo.assets import Asset, asset_content, asset_for_user, assets_for_user
from surveys.services.kobo.query import parse_json_param
from surveys.services.kobo.records import MAX_LIMIT, asset_record, asset_records
from surveys.services.kobo.reports import kobo_report
from surveys.services.kobo.review import (
    kobo_validation_status_get,
    kobo_validation_status_set,
    kobo_validation_statuses_set,
)

OBJECT = OpenApiTypes.OBJECT


def _whole(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number."]}) from None
    if value < 0:
        raise ValidationError({name: ["Zero or more."]})
    return min(value, maximum) if maximum is not None else value


def _page_url(request: Request, **changes: int) -> str:
    params = request.query_params.copy()
    for key, value in changes.items():
        params[key] = str(value)
    return request.build_absolute_uri(request.path) + "?" + urlencode(sorted(params.lists()), doseq=True)


class KoboView(APIView):
    renderer_classes = [FastJSONRenderer]

    def asset(self, request: Request, uid: str, counted: bool = False) -> Asset:
        return domain(lambda: asset_for_user(user=request.user, uid=uid, counted=counted))


class AssetList(KoboView):
    """KoboToolbox's asset list: the forms this account may see, one asset per form."""

    @extend_schema(parameters=[
        OpenApiParameter("q", str, description="KoboToolbox search: asset_type:survey, uid:…, name:…, words"),
        OpenApiParameter("asset_type", str), OpenApiParameter("limit", int), OpenApiParameter("offset", int),
    ], responses={200: OBJECT}, operation_id="kobo_assets_list")
    def get(self, request: Request, format: str | None = None) -> Response:
        params = request.query_params
        assets = domain(lambda: assets_for_user(user=request.user, q=params.get("q"),
                                                asset_type=params.get("asset_type")))
        limit = _whole(request, "limit", 100, 1000) or 100
        offset = _whole(request, "offset", 0)
        page = assets[offset:offset + limit]
        return Response({
            "count": len(assets),
            "next": _page_url(request, limit=limit, offset=offset + limit) if offset + limit < len(assets) else None,
            "previous": _page_url(request, limit=limit, offset=max(0, offset - limit)) if offset else None,
            "results": [asset_summary(a, request, with_content=False) for a in page],
        })


class AssetDetail(KoboView):
    """One asset with its ``content`` and deployment."""

    @extend_schema(responses={200: OBJECT}, operation_id="kobo_asset_retrieve")
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        return Response(asset_summary(self.asset(request, uid, counted=True), request, with_content=True))


class AssetContent(KoboView):
    """The asset's current content (``survey``, ``choices``, ``settings``, ``translations``)."""

    @extend_schema(responses={200: OBJECT})
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        return Response({"kind": "asset.content", "uid": asset.uid,
                         "data": asset_content(questionnaire=asset.current)})


class AssetData(KoboView):
    """The asset's records, anonymised, as KoboToolbox returns them."""

    renderer_classes = [FastJSONRenderer, XMLRenderer, GeoJSONRenderer]

    @extend_schema(parameters=[
        OpenApiParameter("start", int), OpenApiParameter("limit", int, description="Default and maximum 30000"),
        OpenApiParameter("query", str, description='Mongo-style JSON, e.g. {"_submission_time": {"$gt": "…"}}'),
        OpenApiParameter("sort", str, description='JSON, e.g. {"_id": -1}'),
        OpenApiParameter("fields", str, description='JSON list, e.g. ["_id", "group/question"]'),
        OpenApiParameter("format", str, enum=["json", "xml", "geojson"]),
    ], responses={200: OBJECT}, operation_id="kobo_data_list")
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        params = request.query_params
        start = _whole(request, "start", 0)
        limit = _whole(request, "limit", MAX_LIMIT, MAX_LIMIT) or MAX_LIMIT

        def read():
            return asset_records(user=request.user, asset=asset, query=parse_json_param(params.get("query"), "query",
                                                                                       dict),
                                 sort=parse_json_param(params.get("sort"), "sort", dict),
                                 fields=parse_json_param(params.get("fields"), "fields", list),
                                 start=start, limit=limit, as_json=request.accepted_renderer.format == "json")

        page = domain(read)
        return Response({
            "count": page.count,
            "next": _page_url(request, start=start + limit, limit=limit) if start + limit < page.count else None,
            "previous": _page_url(request, start=max(0, start - limit), limit=limit) if start else None,
            "results": page.results,
        })


class DataRecord(KoboView):
    renderer_classes = [FastJSONRenderer, XMLRenderer]

    @extend_schema(responses={200: OBJECT}, operation_id="kobo_data_retrieve")
    def get(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        return Response(domain(lambda: asset_record(user=request.user, asset=asset, submission_id=submission_id)))


class ValidationStatus(KoboView):
    """One record's validation status: GET, PATCH ``{"validation_status.uid": "…"}``, DELETE."""

    @extend_schema(responses={200: OBJECT})
    def get(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        return Response(domain(lambda: kobo_validation_status_get(user=request.user, asset=asset,
                                                                  submission_id=submission_id)))

    @extend_schema(request=OBJECT, responses={200: OBJECT})
    def patch(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        body = ValidationStatusBody(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(domain(lambda: kobo_validation_status_set(
            user=request.user, asset=asset, submission_id=submission_id, uid=body.validated_data["uid"])))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        domain(lambda: kobo_validation_status_set(user=request.user, asset=asset, submission_id=submission_id,
                                                  uid=None))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ValidationStatuses(KoboView):
    """Several records at once: PATCH (set) or DELETE (clear) with
    ``{"payload": {"submission_ids": [...], "validation_status.uid": "…"}}``."""

    @extend_schema(request=OBJECT, responses={200: OBJECT})
    def patch(self, request: Request, uid: str, format: str | None = None) -> Response:
        body = self._body(request)
        if body["uid"] is None:
            raise ValidationError({"payload": ["'validation_status.uid' is required."]})
        return self._apply(request, uid, body["submission_ids"], body["uid"])

    @extend_schema(request=OBJECT, responses={200: OBJECT})
    def delete(self, request: Request, uid: str, format: str | None = None) -> Response:
        return self._apply(request, uid, self._body(request)["submission_ids"], None)

    def _body(self, request: Request) -> dict[str, Any]:
        body = BulkValidationStatusBody(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _apply(self, request: Request, uid: str, ids: list[Any], status_uid: str | None) -> Response:
        asset = self.asset(request, uid)
        count = domain(lambda: kobo_validation_statuses_set(user=request.user, asset=asset, submission_ids=ids,
                                                            uid=status_uid))
        return Response({"detail": f"{count} submissions have been updated"})


class Reports(KoboView):
    """The round tables of the asset's current round, in KoboToolbox's report shape."""

    @extend_schema(parameters=[OpenApiParameter("split_by", str), OpenApiParameter("lang", str)],
                   responses={200: OBJECT})
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        report = domain(lambda: kobo_report(asset=asset, split_by=request.query_params.get("split_by"),
                                            lang=request.query_params.get("lang")))
        return Response({"url": request.build_absolute_uri(request.path), **report})
