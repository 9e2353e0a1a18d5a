"""REST services in the admin: each form's hooks (saved through the same service as the API, secrets
write-only), their deliveries with every attempt's log, and *Send again* for failed deliveries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mtm.admin import domain_errors
from mtm.errors import InvalidInput, MtmError
from surveys.admin.base import ReadOnlyInline
from surveys.kobo_ids import asset_uid
from surveys.models import HookDelivery, HookLog, Questionnaire, RestHook
from surveys.selectors.kobo.assets import asset_for_user
from surveys.selectors.scope import team_scoped
from surveys.services.hooks.config import HookInput, deliveries_retry, hook_create, hook_update
from surveys.services.hooks.sealing import secrets_open

_FORM_FIELDS = {"name": "name", "endpoint": "endpoint", "export_type": "export_type", "auth_level": "auth_level",
                "settings": "username", "secret": "secret", "subset_fields": "subset_fields",
                "payload_template": "payload_template", "password": "password"}


class RestHookForm(forms.ModelForm):
    form_id = forms.ChoiceField(label=_("Form"))
    endpoint = forms.CharField(max_length=2000, help_text=_("An http:// or https:// URL"))
    username = forms.CharField(required=False, help_text=_("For basic authorization"))
    password = forms.CharField(required=False, widget=forms.PasswordInput,
                               help_text=_("Write-only: leave empty to keep the stored one"))
    secret = forms.CharField(required=False, widget=forms.PasswordInput,
                             help_text=_("Signs each body (X-MTM-Signature-256). Write-only: leave empty to keep it"))
    custom_headers = forms.JSONField(required=False, initial=dict, help_text=_('e.g. {"X-Api-Key": "…"}'))
    subset_fields_text = forms.CharField(required=False, label=_("Subset fields"),
                                         help_text=_("Question names or group paths, comma-separated; empty: all"))

    class Meta:
        model = RestHook
        fields = ["form_id", "name", "endpoint", "active", "export_type", "auth_level", "email_notification",
                  "payload_template"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = sorted(set(Questionnaire.objects.values_list("form_id", flat=True)))
        choice: Any = self.fields["form_id"]
        choice.choices = [(i, i) for i in ids]
        if self.instance.pk:
            self.fields["form_id"].disabled = True
            self.initial.update({"username": self.instance.settings.get("username", ""),
                                 "custom_headers": self.instance.settings.get("custom_headers", {}),
                                 "subset_fields_text": ", ".join(self.instance.subset_fields)})

    def hook_input(self) -> HookInput:
        data = self.cleaned_data
        headers = data.get("custom_headers") or {}
        if not isinstance(headers, dict):
            raise InvalidInput(_("Custom headers are an object of names and values."), field="settings")
        return HookInput(
            name=data.get("name") or "", endpoint=data.get("endpoint") or "", active=data.get("active"),
            export_type=data.get("export_type"), auth_level=data.get("auth_level"),
            username=data.get("username") or "", password=data.get("password") or None,
            custom_headers=headers, secret=data.get("secret") or None,
            subset_fields=[s for s in (data.get("subset_fields_text") or "").split(",") if s.strip()],
            email_notification=data.get("email_notification"), payload_template=data.get("payload_template") or "")


@admin.register(RestHook)
class RestHookAdmin(admin.ModelAdmin):
    """A form's REST services: where each processed interview's released record is sent."""

    form = RestHookForm
    list_display = ["name", "form_id", "endpoint", "active", "export_type", "delivered", "pending", "failed",
                    "deliveries_link"]
    list_filter = ["form_id", "active", "export_type"]
    readonly_fields = ["signed", "recent_logs"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).annotate(
            n_success=Count("deliveries", filter=Q(deliveries__status=HookDelivery.Status.SUCCESS)),
            n_pending=Count("deliveries", filter=Q(deliveries__status=HookDelivery.Status.PENDING)),
            n_failed=Count("deliveries", filter=Q(deliveries__status=HookDelivery.Status.FAILED)))
        return qs.none() if team_scoped(request.user) else qs

    def get_fields(self, request, obj=None):
        fields = ["form_id", "name", "endpoint", "active", "export_type", "auth_level", "username", "password",
                  "custom_headers", "secret", "subset_fields_text", "email_notification", "payload_template"]
        return [*fields, "signed", "recent_logs"] if obj else fields

    @admin.display(description=_("Delivered"))
    def delivered(self, obj: RestHook) -> int:
        return getattr(obj, "n_success", 0)

    @admin.display(description=_("Pending"))
    def pending(self, obj: RestHook) -> int:
        return getattr(obj, "n_pending", 0)

    @admin.display(description=_("Failed"))
    def failed(self, obj: RestHook) -> int:
        return getattr(obj, "n_failed", 0)

    @admin.display(description=_("Deliveries"))
    def deliveries_link(self, obj: RestHook) -> str:
        url = reverse("admin:surveys_hookdelivery_changelist") + f"?hook__id__exact={obj.pk}"
        return format_html('<a href="{}">Deliveries and logs</a>', url)

    @admin.display(description=_("Signed"), boolean=True)
    def signed(self, obj: RestHook) -> bool:
        return bool(secrets_open(obj.sealed).get("secret"))

    @admin.display(description=_("Latest attempts"))
    def recent_logs(self, obj: RestHook) -> str:
        logs = HookLog.objects.filter(hook=obj).order_by("-date_created", "-id")[:20]
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (log.date_created.strftime("%Y-%m-%d %H:%M:%S"), log.submission_id, log.attempt,
             HookDelivery.Status(log.status).label, log.status_code or "—") for log in logs))
        return format_html("<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           _("When"), _("Submission"), _("Attempt"), _("Status"), _("Code"), rows) if logs else "—"

    def save_form(self, request, form, change):
        return form.instance

    def save_related(self, request, form, formsets, change):
        pass  # no relations of its own

    def save_model(self, request, obj, form, change):
        pass  # saved by the service when the form is cleaned (get_form), so that its errors are the form's

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        admin_self = self

        class SavingForm(base):  # type: ignore[valid-type, misc]
            def _post_clean(self) -> None:
                super()._post_clean()
                if self.errors:
                    return
                admin_self._save(request, self)

        return SavingForm

    def _save(self, request: HttpRequest, form: RestHookForm) -> None:
        try:
            data = form.hook_input()
            form_id = form.instance.form_id if form.instance.pk else form.cleaned_data["form_id"]
            asset = asset_for_user(user=request.user, uid=asset_uid(form_id))
            if form.instance.pk:
                hook = hook_update(user=request.user, asset=asset, uid=form.instance.uid, data=data)
            else:
                hook = hook_create(user=request.user, asset=asset, data=data)
        except MtmError as err:
            field = _FORM_FIELDS.get(err.field or "", None)
            form.add_error(field if field in form.fields else None, err.message)
            return
        form.instance = hook


class HookLogInline(ReadOnlyInline):
    model = HookLog
    fields = ["attempt", "status", "status_code", "message", "date_created"]
    ordering = ["attempt"]


@admin.register(HookDelivery)
class HookDeliveryAdmin(admin.ModelAdmin):
    """Each submission version sent to each hook, with every attempt; failed ones can be sent again."""

    list_display = ["submission_id", "hook", "status", "tries", "status_code", "next_attempt_at", "date_modified"]
    list_filter = ["status", "hook"]
    fields = readonly_fields = ("uid", "hook", "submission_id", "status", "tries", "status_code", "message",
                                "next_attempt_at", "date_created", "date_modified")
    inlines = [HookLogInline]
    actions = ["send_again"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("hook")
        return qs.none() if team_scoped(request.user) else qs

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the failed deliveries again"), permissions=["send"])
    def send_again(self, request, queryset):
        with domain_errors(request) as outcome:
            sent = deliveries_retry(delivery_ids=list(queryset.values_list("id", flat=True)))
        if outcome.ok:
            messages.success(request, ngettext(
                "%(count)d delivery will be sent again; the others were not failed.",
                "%(count)d deliveries will be sent again; the others were not failed.", sent) % {"count": sent})

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or (request.user.has_perm("surveys.change_hookdelivery")
                                                  and not team_scoped(request.user)))

