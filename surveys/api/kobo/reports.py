"""The asset's round tables: :func:`surveys.selectors.reports.round_tabulate` in the
shape of KoboToolbox's asset reports: ``{"count": N, "list": [{"name",
"row": {"type", "label": [...]}, "data": {...}, "kuid", "style"}]}`` where
``data`` has ``total_count`` (submissions), ``provided`` / ``not_provided``,
and for choice questions ``responses`` (labels), ``frequencies`` and
``percentages``, for numbers ``stats`` (mean, median, stdev, min, max);
``split_by`` adds ``values``: per choice of the split question, its own
frequencies and percentages. Only counted records (current, not rejected,
consent not refused) are in it, as in every round table; a supervisor's are of
their team's records, and a form whose current round is outside their team is
404 (:func:`surveys.selectors.reports.round_report_for_user`, as ``/api/v1/rounds/<id>/report``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from enumerators.models import AnyUser
from surveys.api.kobo.base import KoboView
from surveys.api.schema import errors, with_fields
from surveys.kobo_ids import kuid
from surveys.round_report import GroupTable
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.reports import round_report_for_user


class KoboReportStatsSerializer(serializers.Serializer):
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    stdev = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)


@extend_schema_field({"type": "array", "minItems": 2, "maxItems": 2,
                      "items": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/KoboReportData"}]},
                      "description": "[group, its data]: a choice of the split_by question and its table"})
class _SplitGroupField(serializers.Field):
    pass


class KoboReportDataSerializer(serializers.Serializer):
    """A question's table (:func:`_data`): choice questions have ``responses`` … ``percentages``, number
    questions ``stats``; ``total_count`` and ``not_provided`` are left out of a ``split_by`` group's."""

    total_count = serializers.IntegerField(required=False, help_text="Counted submissions")
    provided = serializers.IntegerField()
    not_provided = serializers.IntegerField(required=False)
    show_graph = serializers.BooleanField()
    responses = serializers.ListField(child=serializers.CharField(), required=False, help_text="The choices' labels")
    response_values = serializers.ListField(child=serializers.CharField(), required=False)
    frequencies = serializers.ListField(child=serializers.IntegerField(), required=False)
    percentages = serializers.ListField(child=serializers.FloatField(), required=False)
    stats = KoboReportStatsSerializer(required=False)
    values = serializers.ListField(child=_SplitGroupField(), required=False, help_text="With split_by")


@with_fields(label=serializers.ListField(child=serializers.CharField()))
class KoboReportRowSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="The question's type")


@with_fields(data=KoboReportDataSerializer(), style=serializers.DictField(help_text="KoboToolbox's; empty here"))
class KoboReportItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    row = KoboReportRowSerializer()
    kuid = serializers.CharField()


class KoboReportSerializer(serializers.Serializer):
    """The round tables of the asset's current round in KoboToolbox's report shape."""

    url = serializers.URLField()
    count = serializers.IntegerField(help_text="Counted submissions")
    list = KoboReportItemSerializer(many=True)


class Reports(KoboView):
    """The round tables of the asset's current round, in KoboToolbox's report shape."""

    @extend_schema(parameters=[OpenApiParameter("split_by", str), OpenApiParameter("lang", str)],
                   responses={200: KoboReportSerializer, **errors(400, 403, 404)})
    def get(self, request: Request, uid: str, format: str | None = None) -> Response:
        asset = self.asset(request, uid)
        report = kobo_report(user=request.user, asset=asset, split_by=request.query_params.get("split_by"),
                             lang=request.query_params.get("lang"))
        return Response({"url": request.build_absolute_uri(request.path), **report})


def kobo_report(*, user: AnyUser, asset: Asset, split_by: str | None = None,
                lang: str | None = None) -> dict[str, Any]:
    report = round_report_for_user(user=user, round_id=asset.current.round_id, form_id=asset.form_id,
                                   by=split_by or None, lang=lang)
    total = report["submissions"]
    items = []
    for question in report["questions"]:
        data = _data(question, total)
        if "by" in question:
            data["values"] = [[name, _data(group, None)] for name, group in question["by"].items()]
        items.append({"name": question["name"], "row": {"type": question["type"], "label": [question["label"]]},
                      "data": data, "kuid": kuid(asset.form_id, question["path"]), "style": {}})
    return {"count": total, "list": items}


def _data(table: GroupTable, total: int | None) -> dict[str, Any]:
    base = table["base"]
    out: dict[str, Any] = {"provided": base}
    if total is not None:
        out.update(total_count=total, not_provided=total - base)
    if "rows" in table:
        out.update(show_graph=True, responses=[row["label"] for row in table["rows"]],
                   response_values=[row["value"] for row in table["rows"]],
                   frequencies=[row["count"] for row in table["rows"]],
                   percentages=[row["percent"] if row["percent"] is not None else 0 for row in table["rows"]])
    else:
        out.update(show_graph=False, stats={"mean": table.get("mean"), "median": table.get("median"),
                                            "stdev": table.get("sd"), "min": table.get("min"),
                                            "max": table.get("max")})
    return out
