"""KoboToolbox's REST services of an asset: ``/hooks/`` (list, create), ``/hooks/<uid>/`` (read, change,
delete), ``/hooks/<uid>/logs/`` (every delivery attempt, newest first) and
``/hooks/<uid>/logs/<uid>/retry/`` (send a failed delivery again). The form's owner and data managers
manage them (:mod:`surveys.selectors.hooks`); passwords and the signing secret are write-only."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.kobo.base import KoboPagination, KoboView
from surveys.api.schema import errors
from surveys.models import HookDelivery, HookLog, RestHook
from surveys.selectors.hooks import hook_log, hook_logs, hook_of, hooks_of
from surveys.selectors.kobo.assets import Asset
from surveys.services.hooks.config import HookInput, hook_create, hook_delete, hook_log_retry, hook_update
from surveys.services.hooks.sealing import secrets_open

_HEADERS_HELP = ("Extra request headers, name to value (Content-Type, Authorization and the X-MTM- headers are "
                 "the server's)")


class HookSettingsSerializer(serializers.Serializer):
    """``username`` and ``password`` for basic_auth (the password is write-only), ``custom_headers``."""

    username = serializers.CharField(required=False, allow_blank=True, max_length=255)
    password = serializers.CharField(required=False, allow_blank=True, max_length=1000, write_only=True,
                                     trim_whitespace=False, help_text="Write-only: stored sealed, never returned")
    custom_headers = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=2000),
                                           required=False, help_text=_HEADERS_HELP)


class HookBodySerializer(serializers.Serializer):
    """A REST service as KoboToolbox takes it, and ``secret`` (write-only): the key of the
    ``X-MTM-Signature-256`` header (``sha256=`` and the HMAC-SHA256 of the body, hex)."""

    name = serializers.CharField(max_length=255)
    endpoint = serializers.CharField(max_length=2000, help_text="An http:// or https:// URL")
    active = serializers.BooleanField(required=False, default=True)
    export_type = serializers.ChoiceField(choices=RestHook.ExportType.values, required=False)
    auth_level = serializers.ChoiceField(choices=RestHook.AuthLevel.values, required=False)
    settings = HookSettingsSerializer(required=False)
    subset_fields = serializers.ListField(child=serializers.CharField(max_length=255), required=False,
                                          help_text="Question names or group paths to send; empty: every field")
    email_notification = serializers.BooleanField(required=False)
    payload_template = serializers.CharField(required=False, allow_blank=True, max_length=10_000,
                                             help_text="JSON around %SUBMISSION% (JSON export only)")
    secret = serializers.CharField(required=False, allow_blank=True, max_length=200, write_only=True,
                                   trim_whitespace=False, help_text="Write-only: at least 16 characters; empty: "
                                                                    "no signature")


class HookSerializer(serializers.Serializer):
    """A REST service (:func:`hook_json`): ``signed`` says whether it has a signing secret (never shown)."""

    url = serializers.URLField()
    logs_url = serializers.URLField()
    asset = serializers.CharField(help_text="The asset's uid")
    uid = serializers.CharField()
    name = serializers.CharField()
    endpoint = serializers.CharField()
    active = serializers.BooleanField()
    export_type = serializers.ChoiceField(choices=RestHook.ExportType.values)
    auth_level = serializers.ChoiceField(choices=RestHook.AuthLevel.values)
    settings = HookSettingsSerializer()
    date_modified = serializers.DateTimeField()
    email_notification = serializers.BooleanField()
    subset_fields = serializers.ListField(child=serializers.CharField())
    payload_template = serializers.CharField(allow_blank=True)
    signed = serializers.BooleanField()
    failed_count = serializers.IntegerField()
    pending_count = serializers.IntegerField()
    success_count = serializers.IntegerField()


class HookListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="Null: one page")
    previous = serializers.URLField(allow_null=True, help_text="Null: one page")
    results = HookSerializer(many=True)


class HookLogSerializer(serializers.Serializer):
    """One delivery attempt (:func:`log_json`): ``status`` 0 failed, 1 pending (a retry will follow),
    2 success; ``status_code`` the receiver's (null when none answered); ``message`` its answer or the error."""

    url = serializers.URLField()
    uid = serializers.CharField()
    submission_id = serializers.IntegerField()
    tries = serializers.IntegerField(help_text="Which attempt of this submission's delivery")
    status = serializers.IntegerField(min_value=0, max_value=2, help_text="0 failed, 1 pending, 2 success")
    status_str = serializers.ChoiceField(choices=["failed", "pending", "success"])
    status_code = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    date_created = serializers.DateTimeField()
    date_modified = serializers.DateTimeField()


class HookLogListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = HookLogSerializer(many=True)


class HookRetrySerializer(serializers.Serializer):
    """The delivery sent again: its state now."""

    detail = serializers.CharField()
    status = serializers.IntegerField(min_value=0, max_value=2, help_text="0 failed, 1 pending, 2 success")
    status_str = serializers.ChoiceField(choices=["failed", "pending", "success"])
    status_code = serializers.IntegerField(allow_null=True)
    tries = serializers.IntegerField()


def hook_json(hook: RestHook, asset: Asset, request: Request) -> dict[str, Any]:
    url = request.build_absolute_uri(reverse("kobo-hook", kwargs={"uid": asset.uid, "hook_uid": hook.uid}))
    return {
        "url": url, "logs_url": url + "logs/", "asset": asset.uid, "uid": hook.uid, "name": hook.name,
        "endpoint": hook.endpoint, "active": hook.active, "export_type": hook.export_type,
        "auth_level": hook.auth_level,
        "settings": {k: v for k, v in (hook.settings or {}).items() if k in ("username", "custom_headers")},
        "date_modified": hook.date_modified.isoformat(), "email_notification": hook.email_notification,
        "subset_fields": hook.subset_fields, "payload_template": hook.payload_template,
        "signed": bool(secrets_open(hook.sealed).get("secret")),
        "failed_count": getattr(hook, "failed_count", 0), "pending_count": getattr(hook, "pending_count", 0),
        "success_count": getattr(hook, "success_count", 0),
    }


def log_json(log: HookLog, hook: RestHook, asset: Asset, request: Request) -> dict[str, Any]:
    url = reverse("kobo-hook-log", kwargs={"uid": asset.uid, "hook_uid": hook.uid, "log_uid": log.uid})
    return {"url": request.build_absolute_uri(url), "uid": log.uid, "submission_id": log.submission_id,
            "tries": log.attempt, "status": log.status, "status_str": HookDelivery.Status(log.status).name.lower(),
            "status_code": log.status_code, "message": log.message, "date_created": log.date_created.isoformat(),
            "date_modified": log.date_modified.isoformat()}


def hook_input(request: Request, *, partial: bool) -> HookInput:
    body = HookBodySerializer(data=request.data, partial=partial)
    body.is_valid(raise_exception=True)
    data: dict[str, Any] = dict(body.validated_data)
    if partial and "active" not in (request.data if isinstance(request.data, dict) else {}):
        data.pop("active", None)  # DRF fills the default in a PATCH too
    settings = data.pop("settings", None) or {}
    return HookInput(**data, username=settings.get("username"), password=settings.get("password"),
                     custom_headers=settings.get("custom_headers"))


class HookPagination(KoboPagination):
    """Hooks and logs: ``offset`` and ``limit`` (default 100, at most 1,000)."""


class HookList(KoboView):
    """The asset's REST services: GET lists them, POST creates one."""

    @extend_schema(parameters=HookPagination.schema_parameters(),
                   responses={200: HookListSerializer, **errors(400, 403, 404)}, operation_id="kobo_hooks_list")
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        pages = HookPagination()
        found = pages.paginate_queryset(hooks_of(user=request.user, asset=asset), request)
        return pages.get_paginated_response([hook_json(h, asset, request) for h in found])

    @extend_schema(request=HookBodySerializer, responses={201: HookSerializer, **errors(400, 403, 404)})
    def post(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        hook = hook_create(user=request.user, asset=asset, data=hook_input(request, partial=False))
        return Response(hook_json(hook_of(user=request.user, asset=asset, uid=hook.uid), asset, request),
                        status=status.HTTP_201_CREATED)


class HookDetail(KoboView):
    """One REST service: GET, PATCH (only what is sent changes), PUT, DELETE (with its logs)."""

    @extend_schema(responses={200: HookSerializer, **errors(403, 404)}, operation_id="kobo_hook_retrieve")
    def get(self, request: Request, uid: str, hook_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        return Response(hook_json(hook_of(user=request.user, asset=asset, uid=hook_uid), asset, request))

    def _change(self, request: Request, uid: str, hook_uid: str, partial: bool) -> Response:
        asset = self.asset(request, uid)
        hook_of(user=request.user, asset=asset, uid=hook_uid)  # 404 / 403 before the body's 400
        hook_update(user=request.user, asset=asset, uid=hook_uid, data=hook_input(request, partial=partial))
        return Response(hook_json(hook_of(user=request.user, asset=asset, uid=hook_uid), asset, request))

    @extend_schema(request=HookBodySerializer, responses={200: HookSerializer, **errors(400, 403, 404)})
    def patch(self, request: Request, uid: str, hook_uid: str, format: str | None = None) -> Response:
        return self._change(request, uid, hook_uid, partial=True)

    @extend_schema(request=HookBodySerializer, responses={200: HookSerializer, **errors(400, 403, 404)})
    def put(self, request: Request, uid: str, hook_uid: str, format: str | None = None) -> Response:
        return self._change(request, uid, hook_uid, partial=False)

    @extend_schema(responses={204: None, **errors(403, 404)})
    def delete(self, request: Request, uid: str, hook_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        hook_delete(user=request.user, asset=asset, uid=hook_uid)
        return Response(status=status.HTTP_204_NO_CONTENT)


_LOG_FILTERS = [
    OpenApiParameter("status", int, description="0 failed, 1 pending, 2 success"),
    OpenApiParameter("start", str, description="Attempts at or after this time (ISO 8601)"),
    OpenApiParameter("end", str, description="Attempts at or before this time (ISO 8601)"),
]


class HookLogList(KoboView):
    """Every delivery attempt of the REST service, newest first."""

    @extend_schema(parameters=[*_LOG_FILTERS, *HookPagination.schema_parameters()],
                   responses={200: HookLogListSerializer, **errors(400, 403, 404)}, operation_id="kobo_hook_logs")
    def get(self, request: Request, uid: str, hook_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        hook = hook_of(user=request.user, asset=asset, uid=hook_uid)
        logs = hook_logs(hook=hook, status=_status(request), start=_time(request, "start"), end=_time(request, "end"))
        pages = HookPagination()
        found = pages.paginate_queryset(logs, request)
        return pages.get_paginated_response([log_json(log, hook, asset, request) for log in found])


class HookLogDetail(KoboView):
    @extend_schema(responses={200: HookLogSerializer, **errors(403, 404)}, operation_id="kobo_hook_log_retrieve")
    def get(self, request: Request, uid: str, hook_uid: str, log_uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        hook = hook_of(user=request.user, asset=asset, uid=hook_uid)
        return Response(log_json(hook_log(hook=hook, uid=log_uid), hook, asset, request))


class HookLogRetry(KoboView):
    """Send a failed delivery again (KoboToolbox uses PATCH; POST is taken too): 200 with its state."""

    def _retry(self, request: Request, uid: str, hook_uid: str, log_uid: str) -> Response:
        asset = self.asset(request, uid)
        delivery = hook_log_retry(user=request.user, asset=asset, hook_uid=hook_uid, log_uid=log_uid)
        delivery.refresh_from_db()
        return Response({"detail": "The submission is being sent again.", "status": delivery.status,
                         "status_str": HookDelivery.Status(delivery.status).name.lower(),
                         "status_code": delivery.status_code, "tries": delivery.tries})

    @extend_schema(request=None, responses={200: HookRetrySerializer, **errors(400, 403, 404)})
    def patch(self, request: Request, uid: str, hook_uid: str, log_uid: str, format: str | None = None) -> Response:
        return self._retry(request, uid, hook_uid, log_uid)

    @extend_schema(request=None, responses={200: HookRetrySerializer, **errors(400, 403, 404)},
                   operation_id="kobo_hook_log_retry_post")
    def post(self, request: Request, uid: str, hook_uid: str, log_uid: str, format: str | None = None) -> Response:
        return self._retry(request, uid, hook_uid, log_uid)


def _status(request: Request) -> int | None:
    raw = request.query_params.get("status")
    if raw in (None, ""):
        return None
    if raw not in ("0", "1", "2"):
        raise ValidationError({"status": ["0 (failed), 1 (pending) or 2 (success)."]})
    return int(raw)


def _time(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({name: ["An ISO 8601 date and time."]})
    return value
