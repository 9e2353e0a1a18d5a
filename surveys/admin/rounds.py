"""Surveys and rounds: the round list, its exports and rebuild actions, the
collection dashboard and the round tables."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mtm.admin import domain_errors
from surveys.admin.quality import scorecard_table
from surveys.form_schema import form_language
from surveys.models import (
    Round,
    Survey,
)
from surveys.presentation.reports import for_page, render_report
from surveys.selectors.progress import round_progress
from surveys.selectors.reports import round_report_choices, round_report_for_user
from surveys.selectors.scope import RISK_WHOLE_ROUND, round_for_risk, round_for_user, viewable_rounds
from surveys.selectors.scorecard import round_scorecard_for_user
from surveys.services.disclosure import round_disclosure_risk
from surveys.services.exports import record_export_create
from surveys.services.quality.backchecks import backchecks_draw
from surveys.services.quality.cells import round_scorecard_rebuild
from surveys.services.tallies import round_tally_rebuild

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RoundInline(admin.TabularInline):
    model = Round
    fields = ["number", "title", "start_date", "end_date", "status", "target_sample"]
    extra = 0
    show_change_link = True


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RoundInline]


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["__str__", "title", "start_date", "end_date", "status", "target_sample", "setup_state",
                    "dashboard_link", "report_link"]
    list_filter = ["status", "survey"]
    filter_horizontal = ["locations"]
    readonly_fields = ["setup_state", "disclosure_risk", "dashboard_link", "report_link"]
    actions = ["export_xlsx", "export_csv", "rebuild_tallies", "rebuild_scorecard", "draw_backchecks"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=viewable_rounds(user=request.user).values("pk"))

    def save_model(self, request: HttpRequest, obj: Round, form: forms.ModelForm[Round], change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and {"sex_question", "report_by"} & set(form.changed_data):
            round_tally_rebuild(round_id=obj.pk)
            messages.info(request, _("The round's tallies were rebuilt for its new breakdowns."))

    def _export(self, request: HttpRequest, queryset: QuerySet[Round], fmt: str) -> None:
        made = 0
        with domain_errors(request) as outcome:
            for round_ in queryset:
                for form_id in sorted(set(round_.questionnaires.values_list("form_id", flat=True))):
                    record_export_create(user=request.user, form_id=form_id, round_id=round_.pk, fmt=fmt)
                    made += 1
        if not outcome.ok:
            return
        link = reverse("admin:surveys_recordexport_changelist")
        self.message_user(request, format_html(
            ngettext('{} export started; download it from <a href="{}">record exports</a> when it is complete.',
                     '{} exports started; download them from <a href="{}">record exports</a> when they are '
                     'complete.', made), made, link))

    @admin.action(description=_("Export the anonymised records (XLSX, in the background)"))
    def export_xlsx(self, request, queryset):
        self._export(request, queryset, "xlsx")

    @admin.action(description=_("Export the anonymised records (CSV, in the background)"))
    def export_csv(self, request, queryset):
        self._export(request, queryset, "csv")

    @admin.action(description=_("Rebuild the round tables from the records"), permissions=["change"])
    def rebuild_tallies(self, request, queryset):
        for round_ in queryset:
            counted = round_tally_rebuild(round_id=round_.pk)
            self.message_user(request, ngettext("%(round)s: tables rebuilt from %(count)d counted interview.",
                                                "%(round)s: tables rebuilt from %(count)d counted interviews.",
                                                counted) % {"round": round_, "count": counted})

    @admin.action(description=_("Rebuild the enumerator scorecard from the interviews' facts"),
                  permissions=["change"])
    def rebuild_scorecard(self, request, queryset):
        for round_ in queryset:
            cells = round_scorecard_rebuild(round_id=round_.pk)
            self.message_user(request, ngettext("%(round)s: scorecard rebuilt (%(count)d cell).",
                                                "%(round)s: scorecard rebuilt (%(count)d cells).",
                                                cells) % {"round": round_, "count": cells})

    @admin.action(description=_("Draw back-checks (the round's percentage of each enumerator's interviews)"))
    def draw_backchecks(self, request, queryset):
        for round_ in queryset:
            with domain_errors(request) as outcome:
                drawn = backchecks_draw(round_id=round_.pk, by=request.user)
            if outcome.ok:
                self.message_user(request, ngettext("%(round)s: %(count)d interview drawn for back-checks.",
                                                    "%(round)s: %(count)d interviews drawn for back-checks.",
                                                    drawn) % {"round": round_, "count": drawn})

    def get_urls(self):
        return [path("<int:round_id>/report/", self.admin_site.admin_view(self.report_view),
                     name="surveys_round_report"),
                path("<int:round_id>/dashboard/", self.admin_site.admin_view(self.dashboard_view),
                     name="surveys_round_dashboard"), *super().get_urls()]

    @admin.display(description=_("Set up"))
    def setup_state(self, obj: Round) -> str:
        """A round an XLSForm import created has no dates or target yet: the dashboard cannot say who is
        behind, so it is marked incomplete until they are set."""
        missing = obj.setup_missing
        if not missing:
            return str(_("complete"))
        return format_html('<strong style="color:#ba2121">{}</strong>',
                           _("incomplete: no %(missing)s") % {"missing": _(" and no ").join(missing)})

    @admin.display(description=_("Dashboard"))
    def dashboard_link(self, obj: Round) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:surveys_round_dashboard", args=[obj.pk]),
                           _("Collection dashboard"))

    @admin.display(description=_("Report"))
    def report_link(self, obj: Round) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:surveys_round_report", args=[obj.pk]),
                           _("Round tables"))

    def dashboard_view(self, request: HttpRequest, round_id: int) -> HttpResponse:
        """Is collection on track, who is behind, what needs review
        (:func:`surveys.selectors.progress.round_progress`)."""
        round_ = round_for_user(user=request.user, round_id=round_id)  # 404 / 403 by the middleware
        progress = round_progress(user=request.user, round_id=round_.pk)
        scorecard = scorecard_table(round_scorecard_for_user(user=request.user, round_id=round_.pk), round_id=round_.pk)
        submissions = reverse("admin:surveys_submission_changelist")
        context = {**self.admin_site.each_context(request),
                   "title": gettext("%(round)s: collection dashboard") % {"round": round_},
                   "opts": self.model._meta, "round": round_, "p": progress,
                   "list_url": f"{submissions}?round={round_.pk}", "scorecard": scorecard}
        return TemplateResponse(request, "surveys/round_dashboard.html", context)

    def report_view(self, request: HttpRequest, round_id: int) -> HttpResponse:
        """The round's tables for supervisors, with a bar chart per question; ``?format=xlsx`` downloads them."""
        round_ = round_for_user(user=request.user, round_id=round_id)  # 404 / 403 by the middleware
        choices = round_report_choices(round_=round_, form_id=request.GET.get("form") or None)
        form_id, compare = choices.form_id, request.GET.get("compare") or None
        context = {**self.admin_site.each_context(request), "title": _("%(round)s — round tables") % {"round": round_},
                   "forms": choices.forms, "form_id": form_id, "compare": compare, "opts": self.model._meta,
                   "report": None, "error": None, "languages": choices.languages, "by_options": choices.by_options}
        if compare and not compare.isdigit():
            context["error"] = _("'%(compare)s' is not a round number.") % {"compare": compare}
            return TemplateResponse(request, "surveys/round_report_admin.html", context)
        with domain_errors() as outcome:
            report = round_report_for_user(user=request.user, round_id=round_.pk, form_id=form_id,
                                           by=request.GET.get("by") or None, compare=int(compare) if compare else None,
                                           lang=request.GET.get("lang") or form_language(choices.languages))
        if not outcome.ok:
            context["error"] = outcome.message
            return TemplateResponse(request, "surveys/round_report_admin.html", context)
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(render_report(report, "xlsx"), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="{form_id}-round{round_.number}.xlsx"'
            return response
        context["report"] = for_page(report)
        return TemplateResponse(request, "surveys/round_report_admin.html", context)

    def get_readonly_fields(self, request, obj=None):
        """The risk field only for those :func:`round_for_risk` lets open it (a supervisor is told why not)."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            with domain_errors() as outcome:
                round_for_risk(user=request.user, round_id=obj.pk)
            if not outcome.ok:
                fields = ["disclosure_risk_withheld" if f == "disclosure_risk" else f for f in fields]
        return fields

    @admin.display(description=_("Disclosure risk (quasi-identifiers)"))
    def disclosure_risk_withheld(self, obj: Round) -> str:
        return str(RISK_WHOLE_ROUND)

    @admin.display(description=_("Disclosure risk (quasi-identifiers)"))
    def disclosure_risk(self, obj: Round) -> str:
        if obj.pk is None:
            return "—"
        risk = round_disclosure_risk(round_id=obj.pk).as_dict()
        return _("%(below)s of %(records)s records in classes smaller than k=%(k)s; expected re-identifications "
                 "%(expected)s; highest individual risk %(highest)s over %(fields)s.") % {
            "below": number_format(risk["records_below_k"]), "records": number_format(risk["records"]),
            "k": risk["k"], "expected": number_format(risk["expected_reidentifications"]),
            "highest": number_format(risk["max_individual_risk"]),
            "fields": ", ".join(risk["quasi_fields"]) or _("no quasi fields")}


