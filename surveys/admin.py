from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ExportActionMixin, ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from mtm.errors import MtmError, NotFound
from surveys.models import (
    Location,
    Questionnaire,
    QuestionnaireMedia,
    RecordExport,
    Respondent,
    ReviewEvent,
    Round,
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionFlag,
    Survey,
)
from surveys.presentation.reports import for_page, render_report
from surveys.release import answers_released
from surveys.resources import LocationResource, SubmissionRecordLabelResource, SubmissionRecordResource
from surveys.selectors.progress import round_progress
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.selectors.reports import round_report_choices, round_tabulate
from surveys.selectors.scope import round_for_user, viewable_locations, viewable_rounds
from surveys.selectors.submissions import scoped_submissions
from surveys.services.disclosure import round_disclosure_risk
from surveys.services.exports import record_export_create
from surveys.services.questionnaires import questionnaire_import
from surveys.services.review import submission_comment_add, submission_review
from surveys.services.tallies import round_tally_rebuild

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(Location)
class LocationAdmin(ImportExportModelAdmin):
    """Locations, with CSV / XLSX import and export (:class:`surveys.resources.LocationResource`)."""

    resource_classes = [LocationResource]
    list_display = ["code", "name", "name_ru", "level", "parent", "is_urban"]
    list_filter = ["level", "is_urban"]
    search_fields = ["code", "name", "name_ru", "name_kk"]
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=viewable_locations(user=request.user).values("pk"))


class ReadOnlyInline(admin.TabularInline):
    """A record kept by a service: shown, never edited here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


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


def _domain_round(request: HttpRequest, round_id: int) -> Round:
    """The round if ``request.user`` may monitor it (403 / 404 otherwise, as the admin does)."""
    try:
        return round_for_user(user=request.user, round_id=round_id)
    except NotFound as err:
        raise Http404(err.message) from err
    except MtmError as err:
        raise PermissionDenied(err.message) from err


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["__str__", "title", "start_date", "end_date", "status", "target_sample", "dashboard_link",
                    "report_link"]
    list_filter = ["status", "survey"]
    filter_horizontal = ["locations"]
    readonly_fields = ["disclosure_risk", "dashboard_link", "report_link"]
    actions = ["export_xlsx", "export_csv", "rebuild_tallies"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=viewable_rounds(user=request.user).values("pk"))

    def save_model(self, request, obj: Round, form, change):
        super().save_model(request, obj, form, change)
        if change and "report_by" in form.changed_data:
            round_tally_rebuild(round_id=obj.pk)
            messages.info(request, "The round's tallies were rebuilt for its new breakdowns.")

    def _export(self, request, queryset, fmt: str) -> None:
        made = 0
        for round_ in queryset:
            for form_id in sorted(set(round_.questionnaires.values_list("form_id", flat=True))):
                try:
                    record_export_create(user=request.user, form_id=form_id, round_id=round_.pk, fmt=fmt)
                except MtmError as err:
                    self.message_user(request, err.message, messages.ERROR)
                    return
                made += 1
        link = reverse("admin:surveys_recordexport_changelist")
        self.message_user(request, format_html('{} export(s) started; download them from <a href="{}">record '
                                               'exports</a> when complete.', made, link))

    @admin.action(description="Export the anonymised records (XLSX, in the background)")
    def export_xlsx(self, request, queryset):
        self._export(request, queryset, "xlsx")

    @admin.action(description="Export the anonymised records (CSV, in the background)")
    def export_csv(self, request, queryset):
        self._export(request, queryset, "csv")

    @admin.action(description="Rebuild the round tables from the records", permissions=["change"])
    def rebuild_tallies(self, request, queryset):
        for round_ in queryset:
            counted = round_tally_rebuild(round_id=round_.pk)
            self.message_user(request, f"{round_}: tables rebuilt from {counted} counted interviews.")

    def get_urls(self):
        return [path("<int:round_id>/report/", self.admin_site.admin_view(self.report_view),
                     name="surveys_round_report"),
                path("<int:round_id>/dashboard/", self.admin_site.admin_view(self.dashboard_view),
                     name="surveys_round_dashboard"), *super().get_urls()]

    @admin.display(description="Dashboard")
    def dashboard_link(self, obj: Round) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">Collection dashboard</a>',
                           reverse("admin:surveys_round_dashboard", args=[obj.pk]))

    @admin.display(description="Report")
    def report_link(self, obj: Round) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">Round tables</a>', reverse("admin:surveys_round_report", args=[obj.pk]))

    def dashboard_view(self, request: HttpRequest, round_id: int) -> HttpResponse:
        """Is collection on track, who is behind, what needs review (:func:`surveys.progress.round_progress`)."""
        round_ = _domain_round(request, round_id)
        progress = round_progress(user=request.user, round_id=round_.pk)
        submissions = reverse("admin:surveys_submission_changelist")
        context = {**self.admin_site.each_context(request), "title": f"{round_} — collection dashboard",
                   "opts": self.model._meta, "round": round_, "p": progress,
                   "list_url": f"{submissions}?questionnaire__round__id__exact={round_.pk}"}
        return TemplateResponse(request, "surveys/round_dashboard.html", context)

    def report_view(self, request: HttpRequest, round_id: int) -> HttpResponse:
        """The round's tables for supervisors, with a bar chart per question; ``?format=xlsx`` downloads them."""
        round_ = _domain_round(request, round_id)
        choices = round_report_choices(round_=round_, form_id=request.GET.get("form") or None)
        form_id, compare = choices.form_id, request.GET.get("compare") or None
        context = {**self.admin_site.each_context(request), "title": f"{round_} — round tables",
                   "forms": choices.forms, "form_id": form_id, "compare": compare, "opts": self.model._meta,
                   "report": None, "error": None, "languages": choices.languages, "by_options": choices.by_options}
        try:
            report = round_tabulate(form_id=form_id, round_number=round_.number, by=request.GET.get("by") or None,
                                    compare=int(compare) if compare else None, lang=request.GET.get("lang") or None)
        except (MtmError, ValueError) as err:
            context["error"] = getattr(err, "message", str(err))
            return TemplateResponse(request, "surveys/round_report_admin.html", context)
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(render_report(report, "xlsx"), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="{form_id}-round{round_.number}.xlsx"'
            return response
        context["report"] = for_page(report)
        return TemplateResponse(request, "surveys/round_report_admin.html", context)

    @admin.display(description="Disclosure risk (quasi-identifiers)")
    def disclosure_risk(self, obj: Round) -> str:
        if obj.pk is None:
            return "—"
        risk = round_disclosure_risk(round_id=obj.pk).as_dict()
        return (f"{risk['records_below_k']} of {risk['records']} records in classes smaller than k={risk['k']}; "
                f"expected re-identifications {risk['expected_reidentifications']}; highest individual risk "
                f"{risk['max_individual_risk']} over {', '.join(risk['quasi_fields']) or 'no quasi fields'}.")


@admin.register(RecordExport)
class RecordExportAdmin(admin.ModelAdmin):
    """Record exports: asked for from the round list (or the API), written by a Celery task."""

    list_display = ["uid", "form_id", "round", "fmt", "status", "rows", "requested_by", "created_at", "download"]
    list_filter = ["status", "fmt", "round"]
    fields = ["uid", "form_id", "round", "fmt", "options", "status", "rows", "error", "requested_by", "created_at",
              "finished_at", "download"]
    readonly_fields = fields

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("round__survey", "requested_by")
        return qs if request.user.is_superuser else qs.filter(requested_by=request.user)

    @admin.display(description="File")
    def download(self, obj: RecordExport) -> str:
        if obj.status != RecordExport.Status.COMPLETE:
            return obj.error or "—"
        return format_html('<a href="{}">Download</a>', reverse("api-export-file", args=[obj.uid]))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class XLSFormUploadForm(forms.ModelForm):
    """The admin's "add questionnaire": an XLSForm upload, converted by the
    import service. A broken form shows pyxform's row-numbered message."""

    xlsform = forms.FileField(label="XLSForm", help_text=".xlsx, .xls, .csv or .md; form_id and version "
                              "come from its settings sheet.")

    class Meta:
        model = Questionnaire
        fields = ["round", "allow_anonymous"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.import_result = None

    def clean(self):
        cleaned = super().clean()
        upload, round_ = cleaned.get("xlsform"), cleaned.get("round")
        if upload is None or round_ is None:
            return cleaned
        try:
            self.import_result = questionnaire_import(
                source=upload.read(), filename=upload.name, survey_slug=round_.survey.slug,
                round_number=round_.number, created_by=self.user, allow_anonymous=cleaned["allow_anonymous"],
            )
        except MtmError as err:
            raise forms.ValidationError({"xlsform": err.message}) from err
        self.instance = self.import_result.questionnaire
        return cleaned

    def save(self, commit=True):
        return self.instance

    def save_m2m(self):
        return None


class MediaInline(ReadOnlyInline):
    model = QuestionnaireMedia
    fields = ["filename", "md5", "content_type"]


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ["form_id", "version", "title", "round", "allow_anonymous", "created_at"]
    list_filter = ["round__survey", "round"]
    search_fields = ["form_id", "title", "version"]
    readonly_fields = ["form_id", "version", "title", "md5", "source_file", "source_md5", "created_by",
                       "created_at", "xform_xml", "schema"]
    inlines = [MediaInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            form = XLSFormUploadForm

            class BoundUser(form):
                def __init__(self, *args, **kw):
                    super().__init__(*args, user=request.user, **kw)

            return BoundUser
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["xlsform", "round", "allow_anonymous"]
        return ["form_id", "version", "title", "round", "allow_anonymous", "md5", "source_file", "source_md5",
                "created_by", "created_at", "schema", "xform_xml"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request: HttpRequest, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        result = form.import_result
        for warning in result.warnings:
            messages.warning(request, warning)
        if not result.created:
            messages.info(request, f"{obj} was already stored with this content; nothing changed.")


@admin.register(Respondent)
class RespondentAdmin(admin.ModelAdmin):
    list_display = ["key", "survey", "consent", "first_round", "created_at"]
    list_filter = ["survey", "consent"]
    readonly_fields = ["key", "survey", "first_round", "created_at"]


class AttachmentInline(ReadOnlyInline):
    model = SubmissionAttachment
    fields = ["filename", "size", "sha256", "content_type", "received_at"]


class FlagInline(ReadOnlyInline):
    model = SubmissionFlag
    fields = ["check_name", "reason", "created_at"]


class ReviewEventInline(ReadOnlyInline):
    model = ReviewEvent
    fields = ["at", "actor", "from_status", "to_status", "comment"]
    verbose_name_plural = "Review history"


class CommentInline(ReadOnlyInline):
    model = SubmissionComment
    fields = ["created_at", "author", "text"]


def _review_action(status: str | None, label: str):
    def action(modeladmin, request, queryset):
        changed = 0
        try:
            # The changelist's queryset is already the user's scope (get_queryset); the service checks again.
            for pk in queryset.values_list("pk", flat=True):
                changed += submission_review(submission_id=pk, status=status, by=request.user).changed
        except MtmError as err:
            modeladmin.message_user(request, err.message, level=messages.ERROR)
            return
        modeladmin.message_user(request, f"{changed} submission(s) marked {label.lower()}.")

    action.__name__ = f"review_{status or 'clear'}"
    action.short_description = f"Mark selected as {label.lower()}"
    action.allowed_permissions = ("review",)
    return action


#: The one-by-one review buttons of the submission page: (state, label).
REVIEW_BUTTONS = [("approved", "Approve"), ("not_approved", "Not approved"), ("on_hold", "On hold")]


@admin.register(Submission)
class SubmissionAdmin(ExportActionMixin, admin.ModelAdmin):
    """Submissions as received, with their validation, flags and review.
    They change only through ingest, processing and the review service.
    Raw bodies and identifying answers are not shown here. Every queryset is
    the user's scope (:func:`surveys.selectors.scoped_submissions`)."""

    list_display = ["instance_id", "form_id", "submitted_by", "location", "interview_date", "received_at",
                    "validation", "review_status", "processing", "is_current"]
    list_filter = ["review_status", "flags__check_name", "validation",
                   ("questionnaire__round", admin.RelatedOnlyFieldListFilter),
                   ("location", admin.RelatedOnlyFieldListFilter),
                   ("submitted_by", admin.RelatedOnlyFieldListFilter),
                   "interview_date", "processing", "is_current"]
    search_fields = ["instance_id", "form_id", "submitted_by__username"]
    date_hierarchy = "received_at"
    list_select_related = ["submitted_by", "location"]
    list_per_page = 50
    change_form_template = "surveys/submission_change_form.html"
    fields = ["form_id", "questionnaire", "instance_id", "submitted_by", "device", "user_agent", "received_at",
              "started_at", "ended_at", "interview_date", "location", "respondent_sex", "validation", "problem_list",
              "released_answers", "review_status", "reviewed_by", "reviewed_at", "complete", "attachments_expected",
              "deprecated_id", "previous", "is_current", "processing", "processing_error", "processed_at",
              "raw_format", "raw_sha256"]
    readonly_fields = fields
    inlines = [FlagInline, ReviewEventInline, CommentInline, AttachmentInline]
    actions = [_review_action("approved", "Approved"), _review_action("not_approved", "Not approved"),
               _review_action("on_hold", "On hold")]
    # "Export selected" (django-import-export): the anonymised records, for one form in one round.
    resource_classes = [SubmissionRecordResource, SubmissionRecordLabelResource]
    export_form_class = ExportForm
    export_formats = [base_formats.CSV, base_formats.XLSX]

    def get_valid_export_item_pks(self, request):
        """Only what this admin's list may show can be exported."""
        return self.get_queryset(request).values_list("pk", flat=True)

    def get_queryset(self, request):
        try:
            scope = scoped_submissions(user=request.user)
        except MtmError:
            return Submission.objects.none()
        return scope.select_related("questionnaire", "submitted_by", "location")

    def get_urls(self):
        return [path("<int:submission_id>/review/", self.admin_site.admin_view(self.review_view),
                     name="surveys_submission_review"), *super().get_urls()]

    def has_review_permission(self, request):
        return request.user.has_perm("surveys.review_submission")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"review_buttons": REVIEW_BUTTONS, "can_review": self.has_review_permission(request),
                 **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def review_view(self, request: HttpRequest, submission_id: int) -> HttpResponse:
        """POST ``status`` (a review state; blank for a comment only) and ``comment``: one submission's
        review from its page, through the review service. Back to the page, or to ``next`` (same site)."""
        return _review_post(self, request, submission_id)

    @admin.display(description="Problems")
    def problem_list(self, obj: Submission) -> str:
        return "\n".join(f"{p['path']}: {p['message']}" for p in obj.problems) or "—"

    @admin.display(description="Answers (anonymised record)")
    def released_answers(self, obj: Submission) -> str:
        """The released answers grouped by the form's groups, in the form's order, with their labels."""
        schema = questionnaire_schema(pk=obj.questionnaire_id, md5=obj.questionnaire.md5)
        released = answers_released(answers=obj.answers, schema=schema)
        if not released:
            return "—"
        return format_html('<div class="mtm-answers">{}</div>', format_html_join(
            "", "<h4>{}</h4><table>{}</table>",
            ((group, format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))
             for group, rows in answer_groups(released, schema))))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def answer_groups(released: dict, schema: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group label, [(question label, answer), …]), …]`` in the form's order; answers the schema
    does not name come last, under "Other"."""
    fields = {f["path"]: f for f in schema.get("fields", [])}
    language = schema.get("default_language")

    def label(key: str) -> str:
        field = fields.get(key) or {}
        labels = field.get("label") or {}
        text = labels.get(language) or next(iter(labels.values()), "") if isinstance(labels, dict) else labels
        return f"{text} ({key})" if text else key

    groups: dict[str, list[tuple[str, str]]] = {}
    order = {key: index for index, key in enumerate(fields)}
    for key in sorted(released, key=lambda p: (order.get(p, len(order)), p)):
        value = released[key]
        parent = (fields.get(key) or {}).get("parent")
        group = label(parent) if parent else ("Other" if key not in fields else "Interview")
        shown = " ".join(map(str, value)) if isinstance(value, list) and not (value and isinstance(
            value[0], dict)) else str(value)
        groups.setdefault(group, []).append((label(key), shown))
    return list(groups.items())


def _review_post(modeladmin, request: HttpRequest, submission_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    page = reverse("admin:surveys_submission_change", args=[submission_id])
    if not modeladmin.get_queryset(request).filter(pk=submission_id).exists():
        raise Http404("No such submission.")
    status, comment = request.POST.get("status", ""), request.POST.get("comment", "")
    try:
        if status:
            result = submission_review(submission_id=submission_id, status=None if status == "clear" else status,
                                       by=request.user, comment=comment)
            modeladmin.message_user(request, f"Marked {status.replace('_', ' ')}." if result.changed
                                    else "Review state unchanged.")
        else:
            submission_comment_add(submission_id=submission_id, by=request.user, text=comment)
            modeladmin.message_user(request, "Comment added.")
    except MtmError as err:
        modeladmin.message_user(request, err.message, level=messages.ERROR)
    target = request.POST.get("next", "")
    return HttpResponseRedirect(target if target.startswith("/admin/") and "//" not in target else page)
