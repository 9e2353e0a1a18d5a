"""What every django-import-export resource of MTM Collect shares."""

from __future__ import annotations

from import_export import resources


class AtomicModelResource(resources.ModelResource):
    """An import is all or nothing: always in one transaction, rolled back
    when any row has an error or fails validation, on the preview (dry run)
    and on the confirmed import alike. (django-import-export skips invalid
    rows on the confirmed import unless told otherwise.)"""

    class Meta:
        abstract = True
        use_transactions = True
        skip_unchanged = False
        clean_model_instances = True

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True,
                                   collect_failed_rows=collect_failed_rows, rollback_on_validation_errors=True,
                                   **kwargs)
