"""Data quality II in the admin: the round's back-checks (a read-only list, drawn from the round list's action),
the enumerator scorecard on the collection dashboard (:func:`scorecard_table`) and an interview's audit facts on
its page (:func:`audit_facts_html`). Never an answer or an identifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from surveys.models import BackCheck, InterviewQuality, Submission
from surveys.selectors.scope import within_scope
from surveys.selectors.scorecard import MEASURES, SHARES, RoundScorecard

#: The scorecard's column headings.
MEASURE_LABELS = {
    "median_active_minutes": _("Median active time (min)"),
    "median_question_seconds": _("Median time per question (s)"),
    "flag_rate": _("Flagged"),
    "backcheck_difference_rate": _("Back-check differences"),
    "gate_skip_share": _("Gate questions skipping follow-ups"),
    "dont_know_share": _("Don't know / refused"),
    "answer_distance": _("Answer distance from the team"),
    "straight_lining_share": _("Straight-lined scales"),
}


@dataclass(frozen=True)
class Cell:
    text: str
    link: str
    outlier: bool
    z: str


def _text(measure: str, value: float | None) -> str:
    if value is None:
        return "—"
    if measure in SHARES or measure == "backcheck_difference_rate":
        return f"{number_format(round(100 * value, 1))} %"
    return number_format(round(value, 2))


def scorecard_table(card: RoundScorecard, *, round_id: int) -> dict[str, Any]:
    """The dashboard's scorecard: a row per enumerator, each figure a link to the interviews behind it."""
    submissions = reverse("admin:surveys_submission_changelist")
    backchecks = reverse("admin:surveys_backcheck_changelist")
    rows = []
    for row in card.rows:
        base = f"{submissions}?round={round_id}&enumerator={row.enumerator_id}"
        links = {m: base for m in MEASURES}
        links["flag_rate"] = f"{base}&flag=any"
        links["backcheck_difference_rate"] = f"{backchecks}?round__id__exact={round_id}&enumerator={row.enumerator_id}"
        cells = [Cell(_text(m, f.value), links[m], f.outlier, "" if f.z is None else number_format(f.z))
                 for m, f in row.figures.items()]
        rows.append({"username": row.username, "interviews": row.interviews, "link": base, "cells": cells})
    return {"headings": [MEASURE_LABELS[m] for m in MEASURES], "rows": rows,
            "team": [_text(m, card.team.get(m)) for m in MEASURES], "interviews": card.interviews}


def audit_facts_html(obj: Submission) -> str:
    """An interview's audit facts for its page: no answers, no positions."""
    quality = InterviewQuality.objects.filter(submission=obj).first()
    if quality is None or quality.audit == InterviewQuality.Audit.NONE:
        return str(_("The form keeps no audit log."))
    if quality.audit == InterviewQuality.Audit.UNAVAILABLE:
        return format_html("{} {}", _("The audit log could not be read:"), quality.audit_problem)
    active = number_format(round((quality.active_seconds or 0) / 60, 1))
    facts = [
        (_("Active time"), _("%(minutes)s min") % {"minutes": active}),
        (_("Pauses"), f"{quality.pauses} ({number_format(round(quality.paused_seconds / 60, 1))} min)"),
        (_("Backward moves"), str(quality.backward_jumps)),
        (_("Answers changed after moving on"), str(quality.changed_answers)),
        (_("Location trail"), _("%(points)s points, %(where)s") % {
            "points": quality.trail_points,
            "where": _("none in the area") if quality.trail_in_area is False else _("in the area")
            if quality.trail_in_area else _("no area to test")}),
    ]
    times = format_html_join(", ", "{}: {} s", ((name, number_format(round(seconds, 1)))
                                               for name, seconds in quality.question_seconds.items()))
    return format_html("<dl class='mtm-audit'>{}</dl><p>{} {}</p>",
                       format_html_join("", "<dt>{}</dt><dd>{}</dd>", facts), _("Seconds per question:"),
                       times or "—")


class EnumeratorFilter(admin.SimpleListFilter):
    title = _("enumerator")
    parameter_name = "enumerator"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from surveys.selectors.scope import enumerators_for_user

        return [(str(e.user_id), e.user.username) for e in enumerators_for_user(user=request.user)
                .order_by("user__username")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value() or ""
        return queryset.filter(enumerator_id=int(value)) if value.isdigit() else queryset


@admin.register(BackCheck)
class BackCheckAdmin(admin.ModelAdmin):
    """The round's back-checks for supervisors: the original's interview date and location, never its answers."""

    list_display = ["original_link", "enumerator", "interview_date", "location", "sampled", "done", "compared",
                    "differing", "flagged"]
    list_filter = ["round", EnumeratorFilter, "sampled", "flagged"]
    list_select_related = ["original__location", "original__submitted_by", "round__survey"]
    fields = ("round", "original_link", "enumerator", "interview_date", "location", "sampled",
              "drawn_at", "done", "compared", "differing", "differing_questions", "flagged", "compared_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return within_scope(super().get_queryset(request), user=request.user, prefix="original__")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or user.has_perm("surveys.view_backcheck")
                                        or user.has_perm("surveys.review_submission")))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.display(description=_("original interview"))
    def original_link(self, obj: BackCheck) -> str:
        url = reverse("admin:surveys_submission_change", args=[obj.original_id])
        return format_html('<a href="{}">{}</a>', url, obj.original.instance_id.removeprefix("uuid:")[:8])

    @admin.display(description=_("enumerator"))
    def enumerator(self, obj: BackCheck) -> str:
        return obj.original.submitted_by.username if obj.original.submitted_by else "—"

    @admin.display(description=_("interview date"))
    def interview_date(self, obj: BackCheck) -> Any:
        return obj.original.interview_date or "—"

    @admin.display(description=_("location"))
    def location(self, obj: BackCheck) -> str:
        return obj.original.location.name if obj.original.location else "—"

    @admin.display(description=_("done"), boolean=True)
    def done(self, obj: BackCheck) -> bool:
        return obj.backcheck_id is not None

    @admin.display(description=_("questions differing"))
    def differing_questions(self, obj: BackCheck) -> str:
        return ", ".join(sorted(name for name, r in obj.result.items() if r.get("differs"))) or "—"
