"""Encrypted forms' keys: which versions encrypt with which key, whether its private key is given; the
data-protection role gives a form's private key (a PEM upload) and reads it (a PEM download). Turning on
managed encryption is an action of the questionnaire list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import path

from mtm.admin import domain_errors
from surveys.models import FormKey
from surveys.services.form_keys import (
    PrivateKeySet,
    form_private_key_pem,
    form_private_key_set,
    may_manage_keys,
)


class PrivateKeyForm(forms.ModelForm):
    """A form key's page: the private key (PEM) of a form that carries its own public key."""

    private_key_file = forms.FileField(label="Private key (PEM)", required=False,
                                       help_text="The private key matching this public key; it is stored sealed "
                                                 "and the interviews waiting for it are processed.")

    class Meta:
        model = FormKey
        fields: list[str] = []

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.given: PrivateKeySet | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("private_key_file")
        if upload is None or self.request is None:
            return cleaned
        with domain_errors() as outcome:
            self.given = form_private_key_set(form_id=self.instance.form_id, private_key=upload.read(),
                                              by=self.request.user)
        if not outcome.ok:
            raise forms.ValidationError({"private_key_file": outcome.message})
        return cleaned


@admin.register(FormKey)
class FormKeyAdmin(admin.ModelAdmin):
    list_display = ["form_id", "short_fingerprint", "managed", "private_key_given", "versions", "created_at"]
    list_filter = ["managed", ("private_key_set_at", admin.EmptyFieldListFilter)]
    search_fields = ["form_id", "fingerprint"]
    readonly_fields = ["form_id", "fingerprint", "managed", "private_key_given", "private_key_set_at",
                       "private_key_set_by", "versions", "public_key", "created_at", "download"]
    form = PrivateKeyForm

    def _may(self, request: HttpRequest) -> bool:
        return may_manage_keys(request.user)

    def has_module_permission(self, request):
        return self._may(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_add_permission(self, request):
        return False  # made by imports (own key) and managed encryption

    def has_delete_permission(self, request, obj=None):
        return False  # versions and their interviews need it

    @admin.display(description="fingerprint")
    def short_fingerprint(self, obj: FormKey) -> str:
        return obj.fingerprint[:12]

    @admin.display(description="private key given", boolean=True)
    def private_key_given(self, obj: FormKey) -> bool:
        return obj.has_private_key

    @admin.display(description="versions")
    def versions(self, obj: FormKey) -> str:
        return ", ".join(obj.questionnaires.values_list("version", flat=True)) or "—"

    @admin.display(description="private key (PEM)")
    def download(self, obj: FormKey) -> str:
        from django.utils.html import format_html

        if not obj.has_private_key:
            return "not given yet"
        return format_html('<a href="{}">Download the private key (PEM)</a>', "private-key.pem")

    def get_fields(self, request, obj=None):
        fields = ["form_id", "fingerprint", "managed", "versions", "private_key_given", "private_key_set_at",
                  "private_key_set_by", "download", "public_key", "created_at"]
        return fields if obj is None or obj.has_private_key else [*fields, "private_key_file"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)

        class WithRequest(base):  # type: ignore[valid-type,misc]
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return WithRequest

    def save_model(self, request, obj, form, change):
        given = form.given
        if given is not None:
            messages.success(request, f"Private key stored; {given.requeued} waiting submission(s) sent to "
                                      "processing.")

    def get_urls(self):
        view = self.admin_site.admin_view(self.private_key_view)
        return [path("<int:key_id>/change/private-key.pem", view, name="surveys_formkey_private_key"),
                *super().get_urls()]

    def private_key_view(self, request: HttpRequest, key_id: int) -> HttpResponse:
        key, pem = form_private_key_pem(key_id=key_id, by=request.user)
        response = HttpResponse(pem, content_type="application/x-pem-file")
        response["Content-Disposition"] = f'attachment; filename="{key.form_id}-{key.fingerprint[:12]}.pem"'
        response["Cache-Control"] = "no-store"
        return response
