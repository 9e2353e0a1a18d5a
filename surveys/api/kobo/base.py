"""What every view of KoboToolbox's API v2 shares: the orjson renderer, the
asset in the URL, and KoboToolbox's paging as DRF pagination classes
(``start``/``limit`` on data, ``offset``/``limit`` on the asset list), which
also give the OpenAPI schema their page and parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.kobo.renderers import FastJSONRenderer
from surveys.selectors.kobo.assets import Asset, asset_for_user
from surveys.selectors.kobo.records import MAX_LIMIT

#: The largest ``start``/``offset``/``limit`` accepted.
MAX_NUMBER = 1_000_000_000


class KoboView(APIView):
    renderer_classes = [FastJSONRenderer]

    def asset(self, request: Request, uid: str, counted: bool = False) -> Asset:
        return asset_for_user(user=request.user, uid=uid, counted=counted)


class KoboPagination(BasePagination):
    """KoboToolbox's paging: ``{count, next, previous, results}`` with
    ``<offset_param>`` and ``limit`` in the query (a bad number is a 400, as
    KoboToolbox answers). The window is worked out first
    (:meth:`window`), so that a selector can read just that page from the
    database; :meth:`paginate_queryset` does both for a list in memory."""

    offset_param = "offset"
    default_limit = 100
    max_limit = 1000

    def window(self, request: Request) -> tuple[int, int]:
        """``(offset, limit)`` asked for, the limit capped at :attr:`max_limit` (0 means the default)."""
        self.request = request
        self.offset = _whole(request, self.offset_param, 0)
        self.limit = min(_whole(request, "limit", self.default_limit), self.max_limit) or self.default_limit
        return self.offset, self.limit

    def paginate_queryset(self, queryset: QuerySet[Any] | Sequence[Any], request: Request,
                          view: Any = None) -> list[Any]:
        offset, limit = self.window(request)
        self.count = len(queryset)
        return list(queryset[offset:offset + limit])

    def paginated(self, results: list[Any], count: int) -> dict[str, Any]:
        """The page as KoboToolbox writes it, given the results of :meth:`window` and how many match in all."""
        return {**self.head(count), "results": results}

    def head(self, count: int) -> dict[str, Any]:
        """What comes before the results: ``count``, ``next`` and ``previous`` (after :meth:`window`)."""
        offset, limit = self.offset, self.limit
        return {"count": count,
                "next": self._url(offset + limit) if offset + limit < count else None,
                "previous": self._url(max(0, offset - limit)) if offset else None}

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(self.paginated(data, self.count))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The page in the OpenAPI schema (drf-spectacular asks for it)."""
        def link(side: str) -> dict[str, Any]:
            return {"type": "string", "nullable": True, "format": "uri",
                    "description": f"The {side} page (same query, {self.offset_param} moved); null when none"}

        return {"type": "object", "required": ["count", "next", "previous", "results"], "properties": {
            "count": {"type": "integer", "description": "How many match in all"},
            "next": link("next"), "previous": link("previous"), "results": schema}}

    @classmethod
    def schema_parameters(cls) -> list[OpenApiParameter]:
        """The paging parameters, for the views' ``@extend_schema``."""
        whole = {"type": "integer", "minimum": 0}
        return [OpenApiParameter(cls.offset_param, whole, description="The first result, counted from 0"),
                OpenApiParameter("limit", whole, description=f"Results per page (default {cls.default_limit}, "
                                                             f"at most {cls.max_limit})")]

    def _url(self, offset: int, **extra: int | None) -> str:
        params = self.request.query_params.copy()
        params[self.offset_param], params["limit"] = str(offset), str(self.limit)
        for name, value in extra.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = str(value)
        return self.request.build_absolute_uri(self.request.path) + "?" + urlencode(sorted(params.lists()),
                                                                                    doseq=True)


class AssetPagination(KoboPagination):
    """The asset list: ``offset`` and ``limit`` (default 100, at most 1,000)."""


class DataPagination(KoboPagination):
    """The data endpoint: ``start`` and ``limit`` (default and maximum 30,000, KoboToolbox's). In an order by
    ``_id`` the next link also carries ``after_id``, the page's last record (keyset paging: a client that
    follows ``next`` gets page 30 as fast as page 1; ``start`` is kept for clients that count)."""

    offset_param = "start"
    default_limit = MAX_LIMIT
    max_limit = MAX_LIMIT

    def window(self, request: Request) -> tuple[int, int]:
        self.after_id = _whole(request, "after_id", -1)
        return super().window(request)

    def keyset(self) -> int | None:
        """The ``after_id`` asked for (after :meth:`window`), None when none."""
        return None if self.after_id < 0 else self.after_id

    def head_after(self, count: int, last_id: int | None) -> dict[str, Any]:
        """:meth:`head`, the next link carrying ``after_id`` where the page has a keyset."""
        head = self.head(count)
        if head["previous"] is not None:
            head["previous"] = self._url(max(0, self.offset - self.limit), after_id=None)
        if head["next"] is not None and last_id is not None:
            head["next"] = self._url(self.offset + self.limit, after_id=last_id)
        return head

    @classmethod
    def schema_parameters(cls) -> list[OpenApiParameter]:
        return [*super().schema_parameters(), OpenApiParameter(
            "after_id", {"type": "integer", "minimum": 0},
            description="Keyset paging in an order by _id: the previous page's last _id (the next link has it)")]


def _whole(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number."]}) from None
    if value < 0:
        raise ValidationError({name: ["Zero or more."]})
    if value > MAX_NUMBER:  # past any count; PostgreSQL's OFFSET is a bigint
        raise ValidationError({name: [f"At most {MAX_NUMBER}."]})
    return value
