"""``/api/v1/rounds/<id>/``: a round's tables (the report) and its disclosure risk."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.schema import errors, with_fields
from surveys.selectors.reports import round_report_for_user
from surveys.selectors.scope import round_for_risk
from surveys.services.disclosure import round_disclosure_risk, round_release


class RiskSerializer(serializers.Serializer):
    """k-anonymity over the round's quasi-identifiers."""

    records = serializers.IntegerField()
    quasi_fields = serializers.ListField(child=serializers.CharField())
    k = serializers.IntegerField()
    records_below_k = serializers.IntegerField()
    classes = serializers.IntegerField(help_text="Combinations of quasi values")
    expected_reidentifications = serializers.FloatField()
    max_individual_risk = serializers.FloatField()


class ReleaseSerializer(serializers.Serializer):
    changes = serializers.ListField(child=serializers.CharField(), help_text="What the release step generalises, "
                                                                             "recodes or suppresses")
    risk = RiskSerializer(help_text="The risk once released")


class RoundRiskSerializer(serializers.Serializer):
    risk = RiskSerializer()
    release = ReleaseSerializer()


class RoundRisk(APIView):
    """``GET /api/v1/rounds/<id>/risk?k=3``: the round's disclosure risk over
    its quasi-identifiers, and what the release step would change to reach k
    (whole-round figures: 403 for a supervisor, :func:`surveys.selectors.scope.round_for_risk`)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("k", int, description="2 or more; the round's own k by default")],
                   responses={200: RoundRiskSerializer, **errors(400, 403, 404)})
    def get(self, request: Request, round_id: int) -> Response:
        round_for_risk(user=request.user, round_id=round_id)
        try:
            k = int(request.query_params.get("k") or 0) or None
        except ValueError:
            raise ValidationError({"k": ["A whole number, 2 or more."]}) from None
        if k is not None and k < 2:
            raise ValidationError({"k": ["A whole number, 2 or more."]})
        risk = round_disclosure_risk(round_id=round_id, k=k)
        released = round_release(round_id=round_id, k=k)
        return Response({"risk": risk.as_dict(),
                         "release": {"changes": released.changes, "risk": released.risk.as_dict()}})


# The round report (INTERFACES.md), as surveys.selectors.reports.round_tabulate writes it.
@with_fields(label=serializers.CharField())
class ReportRowSerializer(serializers.Serializer):
    """One choice: respondents who chose it, percent of the base, its 95 % Wilson interval."""

    value = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="100·count/base, one decimal; null when base is 0")
    ci = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
                               help_text="[low, high] in percent, one decimal; null when base is 0")
    small = serializers.BooleanField(required=False, help_text="Present (true) when the count is below the "
                                                               "small-cell threshold")


class ReportCompareRowSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    change_pp = serializers.FloatField(allow_null=True, help_text="This round's percent minus that round's, "
                                                                  "in percentage points")


class ReportChoiceCompareSerializer(serializers.Serializer):
    """The same question in the compared round: its base and rows (when it is a choice question there too)."""

    round = serializers.IntegerField()
    base = serializers.IntegerField()
    rows = ReportCompareRowSerializer(many=True, required=False)


class ReportNumberCompareSerializer(serializers.Serializer):
    """The same question in the compared round: its base and mean (when it is a number question there too)."""

    round = serializers.IntegerField()
    base = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True, required=False)
    change = serializers.FloatField(allow_null=True, required=False, help_text="This round's mean minus that round's")


class ReportChoiceGroupSerializer(serializers.Serializer):
    base = serializers.IntegerField()
    rows = ReportRowSerializer(many=True)
    mean_selected = serializers.FloatField(allow_null=True, required=False, help_text="select_multiple only")
    compare = ReportChoiceCompareSerializer(required=False, help_text="With ?by= and ?compare=: the same group "
                                                                      "in the compared round")


class ReportNumberGroupSerializer(serializers.Serializer):
    base = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    sd = serializers.FloatField(allow_null=True)
    compare = ReportNumberCompareSerializer(required=False, help_text="With ?by= and ?compare=: the same group "
                                                                      "in the compared round")


@with_fields(label=serializers.CharField())
class ReportQuestionFields(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()
    asked = serializers.IntegerField(help_text="Counted submissions where the question was relevant")


class ReportChoiceQuestionSerializer(ReportQuestionFields, ReportChoiceGroupSerializer):
    """A select_one or select_multiple question: every choice of its list, zero counts included."""

    type = serializers.ChoiceField(choices=["select_one", "select_multiple"])
    by = serializers.DictField(child=ReportChoiceGroupSerializer(), required=False,
                               help_text="The same table per group of the by question (?by=)")
    compare = ReportChoiceCompareSerializer(required=False, help_text="With ?compare=: the compared round")


class ReportNumberQuestionSerializer(ReportQuestionFields, ReportNumberGroupSerializer):
    """An integer, decimal or range question."""

    type = serializers.ChoiceField(choices=["integer", "decimal", "range"])
    by = serializers.DictField(child=ReportNumberGroupSerializer(), required=False,
                               help_text="The same numbers per group of the by question (?by=)")
    compare = ReportNumberCompareSerializer(required=False, help_text="With ?compare=: the compared round")


class RoundReportSerializer(serializers.Serializer):
    """The round tables (INTERFACES.md): only submissions that count (current, not rejected)."""

    form_id = serializers.CharField()
    round = serializers.IntegerField()
    submissions = serializers.IntegerField()
    by = serializers.CharField(allow_null=True)
    language = serializers.CharField()
    questions = PolymorphicProxySerializer(
        component_name="ReportQuestion", resource_type_field_name="type", many=True,
        serializers={"select_one": ReportChoiceQuestionSerializer, "select_multiple": ReportChoiceQuestionSerializer,
                     "integer": ReportNumberQuestionSerializer, "decimal": ReportNumberQuestionSerializer,
                     "range": ReportNumberQuestionSerializer})


class RoundReport(APIView):
    """``GET /api/v1/rounds/<id>/report?form=&by=&compare=&lang=``: the round tables (INTERFACES.md schema),
    a supervisor's of their team's records (:func:`surveys.selectors.reports.round_report_for_user`)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[
        OpenApiParameter("form", str, description="The form_id; the round's latest imported form by default"),
        OpenApiParameter("by", str, description="A select_one question's name, or location: a table per group"),
        OpenApiParameter("compare", int, description="Another round's number of the same survey"),
        OpenApiParameter("lang", str, description="The labels' language"),
    ], responses={200: RoundReportSerializer, **errors(400, 403, 404)})
    def get(self, request: Request, round_id: int) -> Response:
        params = request.query_params
        try:
            compare = int(params["compare"]) if params.get("compare") else None
        except ValueError:
            raise ValidationError({"compare": ["A round number."]}) from None
        report = round_report_for_user(user=request.user, round_id=round_id, form_id=params.get("form") or None,
                                       by=params.get("by"), compare=compare, lang=params.get("lang"))
        return Response(report)
