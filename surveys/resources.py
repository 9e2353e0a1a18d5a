"""django-import-export resources of the surveys app."""

from __future__ import annotations

import tablib
from import_export import resources

from mtm.errors import MtmError
from surveys.models import Submission
from surveys.services.exports import export_table


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

    def export(self, queryset=None, **kwargs) -> tablib.Dataset:
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
