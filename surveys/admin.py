from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from mtm.errors import MtmError
from surveys.models import (
    Location,
    Questionnaire,
    QuestionnaireMedia,
    Respondent,
    Round,
    Submission,
    SubmissionAttachment,
    Survey,
)
from surveys.services.questionnaires import questionnaire_import


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_ru", "level", "parent", "is_urban"]
    list_filter = ["level", "is_urban"]
    search_fields = ["code", "name", "name_ru", "name_kk"]
    autocomplete_fields = ["parent"]


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
    list_display = ["__str__", "title", "start_date", "end_date", "status", "target_sample"]
    list_filter = ["status", "survey"]
    filter_horizontal = ["locations"]


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


class MediaInline(admin.TabularInline):
    model = QuestionnaireMedia
    fields = ["filename", "md5", "content_type"]
    readonly_fields = fields
    extra = 0
    can_delete = False


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


class AttachmentInline(admin.TabularInline):
    model = SubmissionAttachment
    fields = ["filename", "size", "sha256", "content_type", "received_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Submissions as received. Read-only: they change only through ingest,
    processing and (later) review. Raw bodies and answers are not shown here
    until they are anonymised (the anonymisation issue)."""

    list_display = ["instance_id", "form_id", "submitted_by", "received_at", "processing", "complete", "is_current"]
    list_filter = ["processing", "complete", "is_current", "raw_format", "questionnaire__round"]
    search_fields = ["instance_id", "form_id", "submitted_by__username"]
    date_hierarchy = "received_at"
    list_select_related = ["submitted_by"]
    fields = ["form_id", "questionnaire", "instance_id", "raw_format", "raw_sha256", "submitted_by", "device",
              "user_agent", "received_at", "updated_at", "complete", "attachments_expected", "deprecated_id",
              "previous", "is_current", "processing", "processing_error", "processed_at"]
    readonly_fields = fields
    inlines = [AttachmentInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
