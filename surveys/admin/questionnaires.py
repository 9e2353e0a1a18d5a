"""Questionnaires: an XLSForm upload imports a version; versions and their media are shown; a version is
archived (no longer offered to tablets) or offered again, never deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mtm.admin import domain_errors
from surveys.admin.base import ReadOnlyInline
from surveys.models import (
    Questionnaire,
    QuestionnaireMedia,
)
from surveys.services.questionnaires import ImportResult, questionnaire_archive, questionnaire_import

if TYPE_CHECKING:
    from enumerators.models import User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class XLSFormUploadForm(forms.ModelForm):
    """The admin's "add questionnaire": an XLSForm upload, converted by the
    import service. A broken form shows pyxform's row-numbered message."""

    xlsform = forms.FileField(label="XLSForm", help_text=".xlsx, .xls, .csv or .md; form_id and version "
                              "come from its settings sheet.")

    class Meta:
        model = Questionnaire
        fields = ["round", "allow_anonymous"]

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.import_result: ImportResult | None = None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        upload, round_ = cleaned.get("xlsform"), cleaned.get("round")
        if upload is None or round_ is None:
            return cleaned
        with domain_errors() as outcome:
            self.import_result = questionnaire_import(
                source=upload.read(), filename=upload.name, survey_slug=round_.survey.slug,
                round_number=round_.number, created_by=self.user, allow_anonymous=cleaned["allow_anonymous"],
            )
        if not outcome.ok:  # pyxform's row-numbered message, under the upload
            raise forms.ValidationError({"xlsform": outcome.message})
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
    list_display = ["form_id", "version", "title", "round", "allow_anonymous", "created_at", "archived_at"]
    list_filter = ["round__survey", "round", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["form_id", "title", "version"]
    readonly_fields = ["form_id", "version", "title", "md5", "source_file", "source_md5", "created_by",
                       "created_at", "archived_at", "xform_xml", "schema", "central_base_url", "odata_feed_url"]
    inlines = [MediaInline]
    actions = ["archive", "unarchive"]

    def has_delete_permission(self, request, obj=None):
        """Versions are archived, never deleted: tablets may still hold them and send their instances."""
        return False

    @admin.action(description="Archive: no longer offer to tablets (still accepts their submissions)",
                  permissions=["change"])
    def archive(self, request, queryset):
        changed = questionnaire_archive(questionnaire_ids=list(queryset.values_list("pk", flat=True)), archived=True)
        self.message_user(request, f"{changed} version(s) archived.")

    @admin.action(description="Unarchive: offer to tablets again", permissions=["change"])
    def unarchive(self, request, queryset):
        changed = questionnaire_archive(questionnaire_ids=list(queryset.values_list("pk", flat=True)),
                                        archived=False)
        self.message_user(request, f"{changed} version(s) offered again.")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            class BoundUser(XLSFormUploadForm):
                def __init__(self, *args, **kw):
                    super().__init__(*args, user=request.user, **kw)

            return BoundUser
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["xlsform", "round", "allow_anonymous"]
        return ["form_id", "version", "title", "round", "allow_anonymous", "central_base_url", "odata_feed_url", "md5",
                "source_file", "source_md5", "created_by", "created_at", "archived_at", "schema", "xform_xml"]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Questionnaire | None:
        """The version, with the server's address as this request reached it (for the analysts' URLs)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._mtm_origin = request.build_absolute_uri("/")
        return obj

    @admin.display(description=_("ODK Central base URL"))
    def central_base_url(self, obj: Questionnaire) -> str:
        origin = getattr(obj, "_mtm_origin", "/")
        return format_html('<code>{}</code><div class="help">{}</div>', origin,
                           _("pyodk's base_url and ruODK's url, with your username (or e-mail) and password; "
                             "project {project}, form {form}.").format(project=obj.round.survey_id, form=obj.form_id))

    @admin.display(description=_("OData feed URL"))
    def odata_feed_url(self, obj: Questionnaire) -> str:
        origin = getattr(obj, "_mtm_origin", "/").rstrip("/")
        url = f"{origin}/v1/projects/{obj.round.survey_id}/forms/{quote(obj.form_id, safe='')}.svc"
        return format_html('<code>{}</code><div class="help">{}</div>', url,
                           _("Power BI and Excel: Get data → OData feed, Basic login with your username and "
                             "password. Anonymised records of your team only."))

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request: HttpRequest, obj: Questionnaire, form: XLSFormUploadForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        result = form.import_result
        if result is None:  # not reached: the form is valid only once its upload is imported
            return
        for warning in result.warnings:
            messages.warning(request, warning)
        if not result.created:
            messages.info(request, f"{obj} was already stored with this content; nothing changed.")


