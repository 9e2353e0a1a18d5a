"""django-import-export resources of the surveys app: locations (import /
export, all or nothing) and the anonymised submission records (export)."""

from __future__ import annotations

from typing import Any

import tablib
from django.db.models import QuerySet
from import_export import resources
from import_export.fields import Field
from import_export.widgets import ForeignKeyWidget

from mtm.errors import MtmError
from mtm.resources import AtomicModelResource
from surveys.models import Location, Submission
from surveys.services.exports import export_table


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


class SubmissionRecordResource(resources.ModelResource):
    """The anonymised records of the submissions picked in the admin, laid out
    as the record exports are (group paths as columns, select_multiple 0/1
    columns, the round's release step); never raw answers or identifiers.
    Only submissions of one form in one round go in one file."""

    labels = False

    class Meta:
        model = Submission
        fields = ()
        name = "Anonymised records (values)"

    def export(self, queryset: QuerySet[Submission] | None = None, **kwargs: Any) -> tablib.Dataset:
        if queryset is None:  # as import-export's own export: everything the resource reads
            queryset = self.get_queryset()
        try:
            headers, rows = export_table(submissions=queryset, labels=self.labels)
        except MtmError as err:
            dataset = tablib.Dataset(headers=["error"])
            dataset.append([err.message])
            return dataset
        return tablib.Dataset(*rows, headers=headers)


class SubmissionRecordLabelResource(SubmissionRecordResource):
    labels = True

    class Meta:
        model = Submission
        fields = ()
        name = "Anonymised records (labels)"
