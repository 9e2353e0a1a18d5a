"""django-import-export resources of the survey side (locations; record exports come with issue 6)."""

from __future__ import annotations

from import_export.fields import Field
from import_export.widgets import ForeignKeyWidget

from mtm.resources import AtomicModelResource
from surveys.models import Location


class LocationResource(AtomicModelResource):
    """Locations by ``code`` (created or updated), the parent named by its
    code; the model's constraints are checked row by row (a region needs a
    parent, boxes are ordered, …) and any bad row changes nothing."""

    parent = Field(attribute="parent", column_name="parent", widget=ForeignKeyWidget(Location, field="code"))

    class Meta:
        model = Location
        import_id_fields = ["code"]
        fields = ["code", "name", "name_ru", "name_kk", "level", "parent", "is_urban", "min_lat", "max_lat",
                  "min_lon", "max_lon", "center_lat", "center_lon", "radius_km"]
        export_order = fields
        skip_unchanged = True
        report_skipped = True
