"""Assets as KoboToolbox writes them, and the request bodies of the KoBo API."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from surveys.services.kobo.assets import Asset, asset_content


def _url(request: Request, name: str, **kwargs: Any) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs))


def _iso(value) -> str:
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


class ValidationStatusBody(serializers.Serializer):
    """``{"validation_status.uid": "validation_status_approved"}``"""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("validation_status.uid"), str):
            raise serializers.ValidationError({"validation_status.uid": ["This field is required."]})
        return {"uid": data["validation_status.uid"]}


class BulkValidationStatusBody(serializers.Serializer):
    """``{"payload": {"submission_ids": [1, 2], "validation_status.uid": "…"}}``"""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        payload = data.get("payload") if isinstance(data, dict) else None
        if isinstance(payload, str):
            import json

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
