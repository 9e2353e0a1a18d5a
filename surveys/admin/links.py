"""Public links to fill a form in the browser (``/f/<token>/``, ADR 0020): made for a form that allows
anonymous submission, shown with their QR code, revoked with an action. Every write goes through
:mod:`surveys.services.public_links`."""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mtm.admin import domain_errors
from surveys.models import PublicLink, Questionnaire
from surveys.services.public_links import public_link_create, public_link_revoke


class PublicLinkForm(forms.ModelForm):
    form_id = forms.ChoiceField(label=_("form"), help_text=_(
        "Forms whose current version allows anonymous submissions. The link's interviews are received in "
        "your account's name, as Collect's anonymous form URLs."))

    class Meta:
        model = PublicLink
        fields = ["form_id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = (Questionnaire.objects.filter(allow_anonymous=True, archived_at__isnull=True)
               .order_by("form_id").values_list("form_id", flat=True).distinct())
        field = self.fields.get("form_id")  # absent on a link's own page: everything is read only there
        if isinstance(field, forms.ChoiceField):
            field.choices = [(form_id, form_id) for form_id in ids]


@admin.register(PublicLink)
class PublicLinkAdmin(admin.ModelAdmin):
    form = PublicLinkForm
    list_display = ["form_id", "link", "created_by", "created_at", "state"]
    list_filter = ["form_id"]
    readonly_fields = ["link", "qr_code", "form_id", "created_by", "created_at", "revoked_at", "revoked_by"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: PublicLink | None = None) -> Any:
        return ["form_id"] if obj is None else ["link", "qr_code", "form_id", "created_by", "created_at",
                                                "revoked_at", "revoked_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: PublicLink | None = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a link is made and revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the audit of who could send interviews stays

    def _url(self, request: HttpRequest, obj: PublicLink) -> str:
        return request.build_absolute_uri(reverse("webforms-public", kwargs={"token": obj.token}))

    @admin.display(description=_("link"))
    def link(self, obj: PublicLink) -> str:
        url = self._url(self._request, obj)
        if obj.revoked_at is not None:
            return format_html('<s id="public-link-url" style="word-break: break-all">{}</s>', url)
        return format_html('<a id="public-link-url" style="word-break: break-all" href="{}">{}</a>', url, url)

    @admin.display(description=_("QR code"))
    def qr_code(self, obj: PublicLink) -> str:
        if obj.revoked_at is not None:
            return gettext("Revoked: no QR code.")
        svg = segno.make(self._url(self._request, obj), error="m").svg_inline(scale=5, title=obj.form_id)
        return mark_safe(f'<div id="public-link-qr">{svg}</div>')  # noqa: S308 - segno's own SVG of our URL

    @admin.display(description=_("state"))
    def state(self, obj: PublicLink) -> str:
        return gettext("revoked") if obj.revoked_at is not None else gettext("active")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PublicLink]:
        self._request = request
        return super().get_queryset(request).select_related("created_by", "revoked_by")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        self._request = request
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        self._request = request
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: PublicLink, form: Any, change: bool) -> None:
        """A new link through the service (its checks: the form allows anonymous submissions, your account
        may receive them); a refusal is the form's error message."""
        with domain_errors(request) as outcome:
            created = public_link_create(form_id=form.cleaned_data["form_id"], by=request.user)
            obj.pk, obj.token = created.pk, created.token
        self._refused = not outcome.ok

    def response_add(self, request: HttpRequest, obj: PublicLink, post_url_continue: str | None = None) -> Any:
        if getattr(self, "_refused", False):
            return HttpResponseRedirect(reverse("admin:surveys_publiclink_add"))
        return HttpResponseRedirect(reverse("admin:surveys_publiclink_change", args=[obj.pk]))

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(self, "_refused", False) or obj.pk is None:
            return None
        return super().log_addition(request, obj, message)

    @admin.action(description=_("Revoke the selected links"), permissions=["add"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PublicLink]) -> None:
        done = 0
        with domain_errors(request):
            for link in queryset:
                public_link_revoke(link_id=link.pk, by=request.user)
                done += 1
        if done:
            self.message_user(request, gettext("Links revoked: %(n)s.") % {"n": done}, messages.SUCCESS)
