"""What the admin's pages share."""

from __future__ import annotations

from django.contrib import admin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReadOnlyInline(admin.TabularInline):
    """A record kept by a service: shown, never edited here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


