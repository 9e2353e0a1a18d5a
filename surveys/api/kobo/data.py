"""KoboToolbox's data endpoint: an asset's records (JSON, XML, GeoJSON), one
record, and their validation statuses (one or several at once)."""

from __future__ import annotations

import json
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from mtm.errors import NotFound
from surveys.api.kobo.base import DataPagination, KoboView
from surveys.api.kobo.records import (
    KoboRecordSerializer,
    KoboValidationStatusSerializer,
    records_shaped,
    validation_status,
)
from surveys.api.kobo.renderers import (
    FastJSONRenderer,
    GeoJSONFeatureCollectionSerializer,
    GeoJSONRenderer,
    PageRenderer,
    XMLRenderer,
)
from surveys.api.schema import SchemaExtras, errors, keyed
from surveys.selectors.kobo.query import VALIDATION_LABELS, parse_json_param
from surveys.selectors.kobo.records import asset_record, asset_records, record_review
from surveys.services.kobo.review import kobo_validation_status_set, kobo_validation_statuses_set

_UIDS_HELP = ", ".join(uid for uid, _, _ in VALIDATION_LABELS.values())


class KoboBulkUpdatedSerializer(serializers.Serializer):
    """KoboToolbox's answer to a bulk change."""

    detail = serializers.CharField(help_text='"N submissions have been updated"')


class ValidationStatusBody(SchemaExtras, serializers.Serializer):
    """``{"validation_status.uid": "validation_status_approved"}``"""

    whole_on_patch = True

    def get_fields(self) -> dict[str, serializers.Field]:
        return keyed({"validation_status.uid": serializers.CharField(help_text=_UIDS_HELP)})

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("validation_status.uid"), str):
            raise serializers.ValidationError({"validation_status.uid": ["This field is required."]})
        return {"uid": data["validation_status.uid"]}


class BulkPayloadSerializer(serializers.Serializer):
    """The records (their ``_id``) and the validation status to set (a DELETE sends the records only)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return keyed({"submission_ids": serializers.ListField(child=serializers.IntegerField(), min_length=1),
                "validation_status.uid": serializers.CharField(help_text=_UIDS_HELP)})


class BulkValidationStatusBody(SchemaExtras, serializers.Serializer):
    """``{"payload": {"submission_ids": [1, 2], "validation_status.uid": "…"}}``"""

    whole_on_patch = True
    payload = BulkPayloadSerializer(help_text="Also taken as that object's JSON text (a form-encoded body)")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        payload = data.get("payload") if isinstance(data, dict) else None
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                payload = None
        if not isinstance(payload, dict):
            raise serializers.ValidationError({"payload": ["This field is required (a JSON object)."]})
        ids = payload.get("submission_ids")
        if not isinstance(ids, list) or not ids:
            raise serializers.ValidationError({"payload": ["'submission_ids' must be a non-empty list."]})
        uid = payload.get("validation_status.uid")
        if uid is not None and not isinstance(uid, str):
            raise serializers.ValidationError({"payload": ["'validation_status.uid' must be a string."]})
        return {"submission_ids": ids, "uid": uid}


class AssetData(KoboView):
    """The asset's records, anonymised, as KoboToolbox returns them."""

    renderer_classes = [FastJSONRenderer, XMLRenderer, GeoJSONRenderer]
    pagination_class = DataPagination

    @extend_schema(parameters=[
        *DataPagination.schema_parameters(),
        OpenApiParameter("query", str, description='Mongo-style JSON, e.g. {"_submission_time": {"$gt": "…"}}'),
        OpenApiParameter("sort", str, description='JSON, e.g. {"_id": -1}'),
        OpenApiParameter("fields", str, description='JSON list, e.g. ["_id", "group/question"]'),
        OpenApiParameter("format", str, enum=["json", "xml", "geojson"]),
    ], responses={(200, "application/json"): KoboRecordSerializer(many=True),
                  (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description=(
                      "The page as XML (?format=xml): <root> with <count>, <next>, <previous> and <results>, an "
                      "<item> per record, group paths as nested elements")),
                  (200, "application/geo+json"): GeoJSONFeatureCollectionSerializer,
                  **errors(400, 403, 404)}, operation_id="kobo_data_list")
    def get(self, request: Request, uid: str, format: str | None = None) -> StreamingHttpResponse:
        """The page streams: the count and the page's ids are read (and the
        parameters checked) before the first byte; the records are then read,
        released and written a chunk at a time, so that a page of 30,000 holds
        a worker's memory no more than a page of 1,000."""
        asset = self.asset(request, uid)
        params = request.query_params
        paginator = self.pagination_class()
        start, limit = paginator.window(request)
        query = parse_json_param(params.get("query"), "query", dict)
        sort = parse_json_param(params.get("sort"), "sort", dict)
        fields = parse_json_param(params.get("fields"), "fields", list)
        page = asset_records(user=request.user, asset=asset, query=query, sort=sort, start=start, limit=limit,
                             after_id=paginator.keyset())
        renderer = request.accepted_renderer
        assert isinstance(renderer, PageRenderer)  # every renderer of this view
        results = records_shaped(page, asset=asset, fields=fields, as_json=renderer.format == "json")
        return renderer.streamed_response(paginator.head_after(page.count, page.last_id), results)


class DataRecord(KoboView):
    renderer_classes = [FastJSONRenderer, XMLRenderer]

    @extend_schema(responses={(200, "application/json"): KoboRecordSerializer,
                              (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description=(
                                  "The record as XML: <root> with an element per key, group paths nested")),
                              **errors(403, 404)}, operation_id="kobo_data_retrieve")
    def get(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        page = asset_record(user=request.user, asset=asset, submission_id=submission_id)
        record = next(records_shaped(page, asset=asset), None)
        if record is None:  # no longer processed since it was read
            raise NotFound(f"No submission {submission_id} in this asset.")
        return Response(record)


class ValidationStatus(KoboView):
    """One record's validation status: GET, PATCH ``{"validation_status.uid": "…"}``, DELETE."""

    @extend_schema(responses={200: KoboValidationStatusSerializer, **errors(403, 404)})
    def get(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        return Response(validation_status(*record_review(user=request.user, asset=asset,
                                                         submission_id=submission_id)))

    @extend_schema(request=ValidationStatusBody, responses={200: KoboValidationStatusSerializer,
                                                            **errors(400, 403, 404)})
    def patch(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        body = ValidationStatusBody(data=request.data)
        body.is_valid(raise_exception=True)
        kobo_validation_status_set(user=request.user, asset=asset, submission_id=submission_id,
                                   uid=body.validated_data["uid"])
        return Response(validation_status(*record_review(user=request.user, asset=asset,
                                                         submission_id=submission_id)))

    @extend_schema(responses={204: None, **errors(403, 404)})
    def delete(self, request: Request, uid: str, submission_id: int, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        kobo_validation_status_set(user=request.user, asset=asset, submission_id=submission_id, uid=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ValidationStatuses(KoboView):
    """Several records at once: PATCH (set) or DELETE (clear) with
    ``{"payload": {"submission_ids": [...], "validation_status.uid": "…"}}``."""

    @extend_schema(request=BulkValidationStatusBody, responses={200: KoboBulkUpdatedSerializer,
                                                                **errors(400, 403, 404)})
    def patch(self, request: Request, uid: str, format: str | None = None) -> Response:
        body = self._body(request)
        if body["uid"] is None:
            raise ValidationError({"payload": ["'validation_status.uid' is required."]})
        return self._apply(request, uid, body["submission_ids"], body["uid"])

    @extend_schema(description="Clears the validation status of the records named by the body "
                               '``{"payload": {"submission_ids": [...]}}`` (a DELETE body, as KoboToolbox takes it).',
                   responses={200: KoboBulkUpdatedSerializer, **errors(400, 403, 404)})
    def delete(self, request: Request, uid: str, format: str | None = None) -> Response:
        return self._apply(request, uid, self._body(request)["submission_ids"], None)

    def _body(self, request: Request) -> dict[str, Any]:
        body = BulkValidationStatusBody(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _apply(self, request: Request, uid: str, ids: list[Any], status_uid: str | None) -> Response:
        asset = self.asset(request, uid)
        count = kobo_validation_statuses_set(user=request.user, asset=asset, submission_ids=ids,
                                                            uid=status_uid)
        return Response({"detail": f"{count} submissions have been updated"})
