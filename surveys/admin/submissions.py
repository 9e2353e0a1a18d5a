"""Submissions: the review list and page (anonymised answers, flags, history,
comments), review actions, "Export selected"."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from mtm.admin import domain_errors
from surveys.admin.answers import AnswersPage, answers_page, form_language
from surveys.admin.base import ReadOnlyInline
from surveys.admin.submission_filters import (
    EnumeratorFilter,
    FlagFilter,
    LocationFilter,
    ReviewFilter,
    RoundFilter,
    StandingFilter,
)
from surveys.models import (
    ReviewEvent,
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionCorrection,
    SubmissionFlag,
)
from surveys.release import answers_released
from surveys.resources import SubmissionRecordLabelResource, SubmissionRecordResource
from surveys.round_settings import CHECK_LABELS
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.selectors.scope import may_see_submissions
from surveys.selectors.submissions import scoped_submissions
from surveys.services.corrections import may_correct
from surveys.services.processing import submissions_retry
from surveys.services.review import submission_comment_add, submission_review

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AttachmentInline(ReadOnlyInline):
    model = SubmissionAttachment
    fields = ["filename", "size", "sha256", "content_type", "received_at"]


class FlagInline(ReadOnlyInline):
    model = SubmissionFlag
    fields = ["check_name", "reason", "created_at"]


class ReviewEventInline(ReadOnlyInline):
    model = ReviewEvent
    fields = ["at", "actor", "from_status", "to_status", "comment"]
    verbose_name_plural = _("Review history")


class CommentInline(ReadOnlyInline):
    model = SubmissionComment
    fields = ["created_at", "author", "text"]


#: A bulk review action of the submission list.
ReviewAction = Callable[["SubmissionAdmin", HttpRequest, QuerySet[Submission]], None]


def _review_action(status: str | None, description: StrPromise) -> ReviewAction:
    @admin.action(description=description, permissions=["review"])
    def action(modeladmin: SubmissionAdmin, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        changed = 0
        with domain_errors(request) as outcome:
            # The changelist's queryset is already the user's scope (get_queryset); the service checks again.
            for pk in queryset.values_list("pk", flat=True):
                changed += submission_review(submission_id=pk, status=status, by=request.user).changed
        if not outcome.ok:
            return
        modeladmin.message_user(request, REVIEW_DONE[status](changed) % {"count": changed})

    action.__name__ = f"review_{status}"
    return action


@admin.action(description=_("Process again (failed ones)"), permissions=["review"])
def process_again(modeladmin: SubmissionAdmin, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
    with domain_errors(request) as outcome:
        sent = submissions_retry(submission_ids=list(queryset.values_list("pk", flat=True)), by=request.user)
    if outcome.ok:
        modeladmin.message_user(request, ngettext("%(count)d failed submission sent to processing again.",
                                                  "%(count)d failed submissions sent to processing again.", sent)
                                % {"count": sent})


#: The one-by-one review buttons of the submission page: (state, label).
REVIEW_BUTTONS = [("approved", _("Approve")), ("not_approved", _("Not approved")), ("on_hold", _("On hold"))]

#: A bulk review's message, by the state set: its count in the language's plural form.
REVIEW_DONE: dict[str | None, Callable[[int], str]] = {
    "approved": lambda n: ngettext("%(count)d submission marked approved.", "%(count)d submissions marked approved.",
                                   n),
    "not_approved": lambda n: ngettext("%(count)d submission marked not approved.",
                                       "%(count)d submissions marked not approved.", n),
    "on_hold": lambda n: ngettext("%(count)d submission put on hold.", "%(count)d submissions put on hold.", n),
}



#: The page's fields, all read-only: the interview at a glance, then (collapsed) what only a technician reads.
_INTERVIEW = ("submitted_by", "interview_date", "location", "respondent_sex", "review", "reviewed_by",
              "reviewed_at", "validation", "problem_list", "received_at", "audit_facts")
_TECHNICAL = ("form_id", "questionnaire", "instance_id", "deprecated_id", "previous", "is_current", "device",
              "user_agent", "started_at", "ended_at", "complete", "attachments_expected", "processing",
              "processing_error", "processed_at", "raw_format", "encrypted", "raw_sha256",
              "metadata_answers")


@admin.register(Submission)
class SubmissionAdmin(ExportActionMixin, admin.ModelAdmin):
    """Submissions as received, with their validation, flags and review.
    They change only through ingest, processing and the review service.
    Raw bodies and identifying answers are not shown here. Every queryset is
    the user's scope (:func:`surveys.selectors.scoped_submissions`)."""

    list_display = ["interview", "submitted_by", "interview_date", "location_name", "review", "flag_list",
                    "validation", "received_at"]
    list_display_links = ["interview"]
    list_filter = [ReviewFilter, FlagFilter, StandingFilter, RoundFilter, LocationFilter, EnumeratorFilter,
                   "validation", "interview_date", "received_at", "processing", "encrypted", "is_current"]
    search_fields = ["instance_id", "form_id", "submitted_by__username"]
    list_select_related = ["submitted_by", "location"]
    list_per_page = 50
    # The filtered count only: a second count of the whole scope is one more scan of a big round.
    show_full_result_count = False
    change_list_template = "surveys/submission_change_list.html"
    change_form_template = "surveys/submission_change_form.html"
    readonly_fields = (*_INTERVIEW, *_TECHNICAL)
    fieldsets = [(None, {"fields": _INTERVIEW}),
                 (_("Technical details"), {"classes": ["collapse"], "fields": _TECHNICAL})]
    inlines = [FlagInline, ReviewEventInline, CommentInline, AttachmentInline]
    actions = [_review_action("approved", _("Mark selected as approved")),
               _review_action("not_approved", _("Mark selected as not approved")),
               _review_action("on_hold", _("Put selected on hold")), process_again]
    # "Export selected" (django-import-export): the anonymised records, for one form in one round.
    resource_classes = [SubmissionRecordResource, SubmissionRecordLabelResource]
    export_form_class = ExportForm
    export_formats = [base_formats.CSV, base_formats.XLSX]

    def get_valid_export_item_pks(self, request):
        """Only what this admin's list may show can be exported."""
        return self.get_queryset(request).values_list("pk", flat=True)

    def get_queryset(self, request):
        if not may_see_submissions(request.user):
            return Submission.objects.none()
        return scoped_submissions(user=request.user).select_related("submitted_by", "location")

    def get_changelist(self, request, **kwargs):
        return SubmissionChangeList

    def get_urls(self):
        return [path("<int:submission_id>/review/", self.admin_site.admin_view(self.review_view),
                     name="surveys_submission_review"),
                path("<int:submission_id>/process-again/", self.admin_site.admin_view(self.process_again_view),
                     name="surveys_submission_process_again"), *super().get_urls()]

    def has_review_permission(self, request):
        return request.user.has_perm("surveys.review_submission")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"review_buttons": REVIEW_BUTTONS, "can_review": self.has_review_permission(request),
                 **(extra_context or {})}
        obj = self.get_object(request, object_id) if object_id and str(object_id).isdigit() else None
        if obj is not None:
            extra["answers"] = self._answers(obj)
            extra["can_correct"] = (obj.is_current and obj.complete and not obj.encrypted
                                    and may_correct(request.user, obj))
            extra["corrections"] = list(SubmissionCorrection.objects.filter(Q(submission=obj) | Q(replaced=obj))
                                        .select_related("actor", "submission", "replaced"))
        return super().change_view(request, object_id, form_url, extra)

    def review_view(self, request: HttpRequest, submission_id: int) -> HttpResponse:
        """POST ``status`` (a review state; blank for a comment only) and ``comment``: one submission's
        review from its page, through the review service. Back to the page, or to ``next`` (same site)."""
        return _review_post(self, request, submission_id)

    def process_again_view(self, request: HttpRequest, submission_id: int) -> HttpResponse:
        """POST: the submission page's "Process again" button (a failed submission), through the service."""
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        if not self.get_queryset(request).filter(pk=submission_id).exists():
            raise Http404(_("No such submission."))
        with domain_errors(request) as outcome:
            sent = submissions_retry(submission_ids=[submission_id], by=request.user)
        if outcome.ok:
            self.message_user(request, gettext("Sent to processing again.") if sent
                              else gettext("It had not failed; left alone."))
        return HttpResponseRedirect(reverse("admin:surveys_submission_change", args=[submission_id]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the list ---------------------------------------------------------------------------------

    @admin.display(description=_("interview"), ordering="instance_id")
    def interview(self, obj: Submission) -> str:
        """The instanceID's first 8 characters (the whole one on hover): a UUID wraps over lines on a tablet."""
        short = obj.instance_id.removeprefix("uuid:")[:8]
        return format_html('<span title="{}">{}</span>', obj.instance_id, short)

    @admin.display(description=_("location"), ordering="location__name")
    def location_name(self, obj: Submission) -> str:
        return obj.location.name if obj.location is not None else "—"

    @admin.display(description=_("review"), ordering="review_status")
    def review(self, obj: Submission) -> str:
        state = obj.review_status or "none"
        label = obj.get_review_status_display() if obj.review_status else _("Not reviewed")
        return format_html('<span class="mtm-state mtm-state-{}">{}</span>', state, label)

    @admin.display(description=_("flags"))
    def flag_list(self, obj: Submission) -> str:
        names = [f.check_name for f in obj.flags.all()]
        if not names:
            return "—"
        return format_html_join(" ", '<span class="mtm-flag" title="{}">{}</span>',
                                ((name, CHECK_LABELS.get(name, name)) for name in names))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and response.context_data and "cl" in response.context_data:
            response.context_data["active_filters"] = active_filters(response.context_data["cl"])
        return response

    # --- the page ---------------------------------------------------------------------------------

    @admin.display(description=_("How it was filled (audit log)"))
    def audit_facts(self, obj: Submission) -> str:
        from surveys.admin.quality import audit_facts_html

        return audit_facts_html(obj)

    @admin.display(description=_("Problems"))
    def problem_list(self, obj: Submission) -> str:
        return "\n".join(f"{p['path']}: {p['message']}" for p in obj.problems) or "—"

    @admin.display(description=_("Metadata and calculated answers"))
    def metadata_answers(self, obj: Submission) -> str:
        page = self._answers(obj)
        if not page.technical:
            return "—"
        return format_html("<table class=\"mtm-technical\">{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>",
            ((q.path, q.answer.value if not q.answer.choices else " ".join(c for _, c in q.answer.choices))
             for q in page.technical)))

    def _answers(self, obj: Submission) -> AnswersPage:
        """The released answers laid out (:mod:`surveys.admin.answers`); never a field tagged identifier."""
        schema = questionnaire_schema(pk=obj.questionnaire_id, key=obj.questionnaire.schema_key)
        released = answers_released(answers=obj.answers, schema=schema)
        return answers_page(released=released, schema=schema, language=form_language(schema))


class SubmissionChangeList(ChangeList):
    """The list reads only what its columns show: not the sealed raw body, the record or the
    questionnaire's schema (tens of kilobytes a row), and each row's flags in one more query."""

    def get_queryset(self, request, exclude_parameters=None):
        return (super().get_queryset(request, exclude_parameters).defer(*_NOT_LISTED)
                .prefetch_related("flags"))


#: The columns the list never reads.
_NOT_LISTED = ("raw_body", "xml", "answers", "problems", "unanswered", "processing_error", "fingerprint",
               "user_agent")


def active_filters(cl: Any) -> list[tuple[str, str]]:
    """``[(filter title, chosen value), …]`` of the list's active filters, for the closed filter panel."""
    chosen = []
    for spec in cl.filter_specs:
        if not spec.has_output():
            continue
        for choice in spec.choices(cl):
            if choice.get("selected") and choice.get("query_string") != cl.get_query_string(
                    remove=spec.expected_parameters()):
                chosen.append((str(spec.title), str(choice["display"])))
    return chosen


def _review_message(status: str, *, changed: bool) -> str:
    if not changed:
        return gettext("Review state unchanged.")
    if status not in Submission.Review.values:
        return gettext("Review cleared.")
    return gettext("Marked %(state)s.") % {"state": str(Submission.Review(status).label).lower()}


def _review_post(modeladmin: SubmissionAdmin, request: HttpRequest, submission_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    page = reverse("admin:surveys_submission_change", args=[submission_id])
    if not modeladmin.get_queryset(request).filter(pk=submission_id).exists():
        raise Http404(_("No such submission."))
    status, comment = request.POST.get("status", ""), request.POST.get("comment", "")
    with domain_errors(request):
        if status:
            result = submission_review(submission_id=submission_id, status=None if status == "clear" else status,
                                       by=request.user, comment=comment)
            modeladmin.message_user(request, _review_message(status, changed=result.changed))
        else:
            submission_comment_add(submission_id=submission_id, by=request.user, text=comment)
            modeladmin.message_user(request, gettext("Comment added."))
    target = request.POST.get("next", "")
    return HttpResponseRedirect(target if target.startswith("/admin/") and "//" not in target else page)
