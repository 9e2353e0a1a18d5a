"""Record exports: asked for from the round list (or the API), written by a Celery task."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from surveys.models import (
    RecordExport,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


#: Every field of the page, all read-only.
_SHOWN = ("uid", "form_id", "round", "fmt", "options", "status", "rows", "error", "requested_by", "created_at",
          "finished_at", "download")


@admin.register(RecordExport)
class RecordExportAdmin(admin.ModelAdmin):
    """Record exports: asked for from the round list (or the API), written by a Celery task."""

    list_display = ["uid", "form_id", "round", "fmt", "status", "rows", "requested_by", "created_at", "download"]
    list_filter = ["status", "fmt", "round"]
    fields = readonly_fields = _SHOWN

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("round__survey", "requested_by")
        return qs if request.user.is_superuser else qs.filter(requested_by=request.user)

    @admin.display(description=_("File"))
    def download(self, obj: RecordExport) -> str:
        if obj.status != RecordExport.Status.COMPLETE:
            return obj.error or "—"
        return format_html('<a href="{}">{}</a>', reverse("api-export-file", args=[obj.uid]), _("Download"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


