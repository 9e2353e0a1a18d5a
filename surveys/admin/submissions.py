"""Submissions: the review list and page (anonymised answers, flags, history,
comments), review actions, "Export selected"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ExportActionMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from mtm.admin import domain_errors
from surveys.admin.base import ReadOnlyInline
from surveys.form_schema import FormSchema, field_value
from surveys.models import (
    ReviewEvent,
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionFlag,
)
from surveys.release import answers_released
from surveys.resources import SubmissionRecordLabelResource, SubmissionRecordResource
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.selectors.scope import may_see_submissions
from surveys.selectors.submissions import scoped_submissions
from surveys.services.processing import submissions_retry
from surveys.services.review import submission_comment_add, submission_review

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
    verbose_name_plural = "Review history"


class CommentInline(ReadOnlyInline):
    model = SubmissionComment
    fields = ["created_at", "author", "text"]


#: A bulk review action of the submission list.
ReviewAction = Callable[["SubmissionAdmin", HttpRequest, QuerySet[Submission]], None]


def _review_action(status: str | None, label: str) -> ReviewAction:
    @admin.action(description=f"Mark selected as {label.lower()}", permissions=["review"])
    def action(modeladmin: SubmissionAdmin, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        changed = 0
        with domain_errors(request) as outcome:
            # The changelist's queryset is already the user's scope (get_queryset); the service checks again.
            for pk in queryset.values_list("pk", flat=True):
                changed += submission_review(submission_id=pk, status=status, by=request.user).changed
        if not outcome.ok:
            return
        modeladmin.message_user(request, f"{changed} submission(s) marked {label.lower()}.")

    action.__name__ = f"review_{status or 'clear'}"
    return action


@admin.action(description="Process again (failed ones)", permissions=["review"])
def process_again(modeladmin: SubmissionAdmin, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
    with domain_errors(request) as outcome:
        sent = submissions_retry(submission_ids=list(queryset.values_list("pk", flat=True)), by=request.user)
    if outcome.ok:
        modeladmin.message_user(request, f"{sent} failed submission(s) sent to processing again.")


#: The one-by-one review buttons of the submission page: (state, label).
REVIEW_BUTTONS = [("approved", "Approve"), ("not_approved", "Not approved"), ("on_hold", "On hold")]


#: Every field of the page, all read-only.
_SHOWN = ("form_id", "questionnaire", "instance_id", "submitted_by", "device", "user_agent", "received_at",
          "started_at", "ended_at", "interview_date", "location", "respondent_sex", "validation", "problem_list",
          "released_answers", "review_status", "reviewed_by", "reviewed_at", "complete", "attachments_expected",
          "deprecated_id", "previous", "is_current", "processing", "processing_error", "processed_at",
          "raw_format", "encrypted", "raw_sha256")


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
                   "interview_date", "processing", "encrypted", "is_current"]
    search_fields = ["instance_id", "form_id", "submitted_by__username"]
    date_hierarchy = "received_at"
    list_select_related = ["submitted_by", "location"]
    list_per_page = 50
    change_form_template = "surveys/submission_change_form.html"
    fields = readonly_fields = _SHOWN
    inlines = [FlagInline, ReviewEventInline, CommentInline, AttachmentInline]
    actions = [_review_action("approved", "Approved"), _review_action("not_approved", "Not approved"),
               _review_action("on_hold", "On hold"), process_again]
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
        return scoped_submissions(user=request.user).select_related("questionnaire", "submitted_by", "location")

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
            raise Http404("No such submission.")
        with domain_errors(request) as outcome:
            sent = submissions_retry(submission_ids=[submission_id], by=request.user)
        if outcome.ok:
            self.message_user(request, "Sent to processing again." if sent else "It had not failed; left alone.")
        return HttpResponseRedirect(reverse("admin:surveys_submission_change", args=[submission_id]))

    @admin.display(description="Problems")
    def problem_list(self, obj: Submission) -> str:
        return "\n".join(f"{p['path']}: {p['message']}" for p in obj.problems) or "—"

    @admin.display(description="Answers (anonymised record)")
    def released_answers(self, obj: Submission) -> str:
        """The released answers grouped by the form's groups, in the form's order, with their labels."""
        schema = questionnaire_schema(pk=obj.questionnaire_id, key=obj.questionnaire.schema_key)
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


def answer_groups(released: dict[str, Any], schema: FormSchema) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group label, [(question label, answer), …]), …]`` in the form's order; answers the schema
    does not name come last, under "Other"."""
    fields = {f["path"]: f for f in schema.get("fields", [])}
    language = schema.get("default_language")

    def label(key: str) -> str:
        field = fields.get(key)
        labels = (field.get("label") if field is not None else None) or {}
        text = labels.get(language) or next(iter(labels.values()), "") if isinstance(labels, dict) else labels
        return f"{text} ({key})" if text else key

    groups: dict[str, list[tuple[str, str]]] = {}
    order = {key: index for index, key in enumerate(fields)}
    for key in sorted(released, key=lambda p: (order.get(p, len(order)), p)):
        value = released[key]
        parent = field_value(fields, key, "parent")
        group = label(parent) if parent else ("Other" if key not in fields else "Interview")
        shown = " ".join(map(str, value)) if isinstance(value, list) and not (value and isinstance(
            value[0], dict)) else str(value)
        groups.setdefault(group, []).append((label(key), shown))
    return list(groups.items())


def _review_post(modeladmin: SubmissionAdmin, request: HttpRequest, submission_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    page = reverse("admin:surveys_submission_change", args=[submission_id])
    if not modeladmin.get_queryset(request).filter(pk=submission_id).exists():
        raise Http404("No such submission.")
    status, comment = request.POST.get("status", ""), request.POST.get("comment", "")
    with domain_errors(request):
        if status:
            result = submission_review(submission_id=submission_id, status=None if status == "clear" else status,
                                       by=request.user, comment=comment)
            modeladmin.message_user(request, f"Marked {status.replace('_', ' ')}." if result.changed
                                    else "Review state unchanged.")
        else:
            submission_comment_add(submission_id=submission_id, by=request.user, text=comment)
            modeladmin.message_user(request, "Comment added.")
    target = request.POST.get("next", "")
    return HttpResponseRedirect(target if target.startswith("/admin/") and "//" not in target else page)
