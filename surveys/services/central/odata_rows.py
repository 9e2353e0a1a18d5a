"""The OData feed's row cache (:class:`surveys.models.ODataRow`): rows rendered while a page was written,
kept for the next read."""

from __future__ import annotations

import datetime as dt

from surveys.models import ODataRow


def odata_rows_keep(*, variant: int, model_key: str, rendered: list[tuple[int, dt.datetime, str]]) -> None:
    """Keep ``rendered`` rows (submission id, the submission's ``updated_at``, the row's JSON) of ``variant``
    under ``model_key``: one upsert, in id order (two readers keeping the same rows never deadlock)."""
    if not rendered:
        return
    ODataRow.objects.bulk_create(
        [ODataRow(submission_id=pk, variant=variant, model_key=model_key, source_updated_at=saved_at,
                  body_json=body) for pk, saved_at, body in sorted(rendered)],
        update_conflicts=True, unique_fields=["submission", "variant"],
        update_fields=["model_key", "source_updated_at", "body_json"])
