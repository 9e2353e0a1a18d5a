"""Questionnaires: an XLSForm upload imports a version; each version shows pyxform's warnings and the media
files it needs (present / missing), and takes their upload; a version is archived (no longer offered to
tablets) or offered again, never deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mtm.admin import domain_errors
from surveys.models import Questionnaire
from surveys.services.form_keys import form_encryption_managed, may_manage_keys
from surveys.services.questionnaire_media import MediaUpload, questionnaire_media_add
from surveys.services.questionnaires import ImportResult, questionnaire_archive, questionnaire_import

if TYPE_CHECKING:
    from enumerators.models import User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class XLSFormUploadForm(forms.ModelForm):
    """The admin's "add questionnaire": an XLSForm upload, converted by the
    import service. A broken form shows pyxform's row-numbered message."""

    xlsform = forms.FileField(label=_("XLSForm"), help_text=_(".xlsx, .xls, .csv or .md; form_id and version "
                                                          "come from its settings sheet (the file name and a "
                                                          "version the server assigns when it has none)."))

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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class QuestionnaireChangeForm(forms.ModelForm):
    """A version's page: its media files are uploaded here (the files it needs, by their names)."""

    media_upload = MultipleFileField(
        label="Add media files", required=False,
        help_text="Files the form needs, named as the form names them (images, audio, video, CSV, XML, GeoJSON).")

    class Meta:
        model = Questionnaire
        fields = ["round", "allow_anonymous"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        files = cleaned.get("media_upload") or []
        if files and self.instance.pk is not None:
            with domain_errors() as outcome:
                self.media_added = questionnaire_media_add(
                    questionnaire=self.instance,
                    files=[MediaUpload(filename=f.name, content=f.read()) for f in files])
            if not outcome.ok:
                raise forms.ValidationError({"media_upload": outcome.message})
        return cleaned


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ["form_id", "version", "title", "round", "media_state", "allow_anonymous", "encrypted",
                    "created_at", "archived_at"]
    list_filter = ["round__survey", "round", ("archived_at", admin.EmptyFieldListFilter),
                   ("encryption_key", admin.EmptyFieldListFilter)]
    search_fields = ["form_id", "title", "version"]
    readonly_fields = ["form_id", "version", "version_origin", "title", "encryption_key", "md5", "source_file",
                       "source_md5",
                       "created_by", "created_at", "archived_at", "media_files", "pyxform_warnings", "xform_xml",
                       "schema"]
    actions = ["archive", "unarchive", "encrypt_managed"]

    @admin.display(description="encrypted", boolean=True)
    def encrypted(self, obj: Questionnaire) -> bool:
        return obj.encryption_key_id is not None

    def has_manage_keys_permission(self, request: HttpRequest) -> bool:
        return may_manage_keys(request.user)

    @admin.action(description="Turn on managed encryption (the server's key; a new version for tablets)",
                  permissions=["manage_keys"])
    def encrypt_managed(self, request, queryset):
        for form_id in sorted(set(queryset.values_list("form_id", flat=True))):
            with domain_errors(request):
                result = form_encryption_managed(form_id=form_id, by=request.user)
                q = result.questionnaire
                self.message_user(request, f"{q} encrypts with the managed key {result.key.fingerprint[:12]}"
                                           f"{'' if result.created else ' already; nothing changed'}.")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("media")

    def has_delete_permission(self, request, obj=None):
        """Versions are archived, never deleted: tablets may still hold them and send their instances."""
        return False

    @admin.action(description=_("Archive: no longer offer to tablets (still accepts their submissions)"),
                  permissions=["change"])
    def archive(self, request, queryset):
        changed = questionnaire_archive(questionnaire_ids=list(queryset.values_list("pk", flat=True)), archived=True)
        self.message_user(request, ngettext("%(count)d version archived.", "%(count)d versions archived.", changed)
                          % {"count": changed})

    @admin.action(description=_("Unarchive: offer to tablets again"), permissions=["change"])
    def unarchive(self, request, queryset):
        changed = questionnaire_archive(questionnaire_ids=list(queryset.values_list("pk", flat=True)),
                                        archived=False)
        self.message_user(request, ngettext("%(count)d version offered again.", "%(count)d versions offered again.",
                                            changed) % {"count": changed})

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            class BoundUser(XLSFormUploadForm):
                def __init__(self, *args, **kw):
                    super().__init__(*args, user=request.user, **kw)

            return BoundUser
        kwargs["form"] = QuestionnaireChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["xlsform", "round", "allow_anonymous"]
        return ["form_id", "version", "version_origin", "title", "round", "allow_anonymous", "encryption_key",
                "media_files",
                "media_upload", "pyxform_warnings", "md5", "source_file", "source_md5", "created_by", "created_at",
                "archived_at", "schema", "xform_xml"]

    @admin.display(description="Media")
    def media_state(self, obj: Questionnaire) -> str:
        """present / needed, and how many are missing: a version with missing files is served all the same
        (docs/adr/0012), but the device cannot show what it lacks."""
        if not obj.media_needed:
            return "—"
        missing = len(obj.media_missing)
        needed = len(obj.media_needed)
        if missing:
            return format_html('<strong style="color:#ba2121">{} of {} missing</strong>', missing, needed)
        return f"all {needed} present"

    @admin.display(description="Media files")
    def media_files(self, obj: Questionnaire) -> str:
        if not obj.media_needed:
            return "The form needs no media files."
        attached = {m.filename: m for m in obj.media.all()}
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f["filename"], f["type"], "present" if f["filename"] in attached else "MISSING",
              f"md5:{attached[f['filename']].md5}" if f["filename"] in attached else "")
             for f in obj.media_needed))
        return format_html("<table><tr><th>file</th><th>type</th><th>state</th><th>hash</th></tr>{}</table>",
                           rows)

    @admin.display(description="pyxform's warnings")
    def pyxform_warnings(self, obj: Questionnaire) -> str:
        if not obj.warnings:
            return "None."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in obj.warnings)))

    @admin.display(description="Version from")
    def version_origin(self, obj: Questionnaire) -> str:
        return "assigned by the server (the XLSForm has none)" if obj.version_assigned else "the settings sheet"

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Questionnaire, form: XLSFormUploadForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            added = getattr(form, "media_added", None)
            if added:
                messages.info(request, f"Media added: {', '.join(added)}.")
            return
        result = form.import_result
        if result is None:  # not reached: the form is valid only once its upload is imported
            return
        for warning in result.warnings:
            messages.warning(request, warning)
        if not result.created:
            messages.info(request, _("%(questionnaire)s was already stored with this content; nothing changed.")
                          % {"questionnaire": obj})
        if result.round_created:
            messages.warning(request, _("%(round)s was created by this import: set its dates and target.")
                             % {"round": obj.round})
        if result.media_missing:
            messages.warning(request, _("%(questionnaire)s needs media files not attached yet: %(files)s. Add them "
                                        "on the version's page.") % {"questionnaire": obj,
                                                                      "files": ", ".join(result.media_missing)})


