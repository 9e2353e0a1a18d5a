"""Locations, with CSV / XLSX import and export."""

from __future__ import annotations

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from surveys.models import (
    Location,
)
from surveys.resources import LocationResource
from surveys.selectors.scope import viewable_locations

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(Location)
class LocationAdmin(ImportExportModelAdmin):
    """Locations, with CSV / XLSX import and export (:class:`surveys.resources.LocationResource`)."""

    resource_classes = [LocationResource]
    list_display = ["code", "name", "name_ru", "level", "parent", "is_urban"]
    list_filter = ["level", "is_urban"]
    search_fields = ["code", "name", "name_ru", "name_kk"]
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=viewable_locations(user=request.user).values("pk"))


