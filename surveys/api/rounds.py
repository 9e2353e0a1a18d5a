"""``/api/v1/rounds/<id>/``: a round's tables (the report) and its disclosure risk."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.selectors.reports import round_report_choices, round_tabulate
from surveys.selectors.scope import round_for_user
from surveys.services.disclosure import round_disclosure_risk, round_release


class RoundRisk(APIView):
    """``GET /api/v1/rounds/<id>/risk?k=3``: the round's disclosure risk over
    its quasi-identifiers, and what the release step would change to reach k."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, round_id: int) -> Response:
        round_for_user(user=request.user, round_id=round_id)
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


class RoundReport(APIView):
    """``GET /api/v1/rounds/<id>/report?form=&by=&compare=&lang=``: the round tables (INTERFACES.md schema)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, round_id: int) -> Response:
        round_ = round_for_user(user=request.user, round_id=round_id)
        params = request.query_params
        form_id = round_report_choices(round_=round_, form_id=params.get("form")).form_id
        try:
            compare = int(params["compare"]) if params.get("compare") else None
        except ValueError:
            raise ValidationError({"compare": ["A round number."]}) from None
        report = round_tabulate(form_id=form_id or "", round_number=round_.number,
                                by=params.get("by"), compare=compare, lang=params.get("lang"))
        return Response(report)
