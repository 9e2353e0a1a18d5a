"""``/api/v1/rounds/<id>/scorecard`` (the enumerator scorecard) and ``/api/v1/rounds/<id>/backchecks`` (the
round's back-checks; ``POST`` draws the sample the round's settings ask for)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.schema import errors
from surveys.selectors.backchecks import backcheck_row, backchecks_visible
from surveys.selectors.scope import round_for_user
from surveys.selectors.scorecard import round_scorecard_for_user
from surveys.services.quality.backchecks import backchecks_draw


class FigureSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    z = serializers.FloatField(allow_null=True, help_text="How far from the rest of the team (robust z-score)")
    outlier = serializers.BooleanField()


class EnumeratorScoreSerializer(serializers.Serializer):
    enumerator = serializers.CharField()
    interviews = serializers.IntegerField()
    figures = serializers.DictField(child=FigureSerializer())


class ScorecardSerializer(serializers.Serializer):
    round = serializers.IntegerField()
    interviews = serializers.IntegerField()
    measures = serializers.ListField(child=serializers.CharField())
    team = serializers.DictField(child=serializers.FloatField(allow_null=True))
    enumerators = EnumeratorScoreSerializer(many=True)


class RoundScorecard(APIView):
    """``GET /api/v1/rounds/<id>/scorecard``: per enumerator against the team (a supervisor: their team)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ScorecardSerializer, **errors(403, 404)})
    def get(self, request: Request, round_id: int) -> Response:
        return Response(round_scorecard_for_user(user=request.user, round_id=round_id).as_dict())


class LocationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class BackCheckSerializer(serializers.Serializer):
    original = serializers.CharField(help_text="The original interview's instanceID")
    enumerator = serializers.CharField(allow_null=True)
    interview_date = serializers.DateField(allow_null=True)
    location = LocationSerializer(allow_null=True)
    drawn = serializers.BooleanField()
    done = serializers.BooleanField()
    backcheck = serializers.CharField(allow_null=True)
    compared = serializers.IntegerField()
    differing = serializers.IntegerField()
    difference_rate = serializers.FloatField(allow_null=True)
    differing_questions = serializers.ListField(child=serializers.CharField())
    flagged = serializers.BooleanField()


class DrawSerializer(serializers.Serializer):
    drawn = serializers.IntegerField()


class RoundBackChecks(APIView):
    """``GET /api/v1/rounds/<id>/backchecks``: the round's back-checks; ``POST`` draws the round's sample
    (``backcheck_percent`` of each enumerator's interviews, reproducible from ``backcheck_seed``)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: BackCheckSerializer(many=True), **errors(403, 404)})
    def get(self, request: Request, round_id: int) -> Response:
        return Response([backcheck_row(row) for row in backchecks_visible(user=request.user, round_id=round_id)])

    @extend_schema(request=None, responses={200: DrawSerializer, **errors(403, 404)})
    def post(self, request: Request, round_id: int) -> Response:
        round_for_user(user=request.user, round_id=round_id)
        return Response({"drawn": backchecks_draw(round_id=round_id, by=request.user)})
