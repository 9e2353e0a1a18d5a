"""Caches of ODK Central's OData feed."""

from __future__ import annotations

from django.db import models


class ODataRow(models.Model):
    """A submission's row of a form's ``Submissions`` table as the OData feed writes it (its answers' part:
    every property but ``__id`` and ``__system``, which are written with each page), as JSON text: a cache
    that lets a page of 30,000 rows be written by splicing texts rather than by decoding and shaping every
    answer. One per submission and ``variant`` (bit 1: ``$expand=*``, bit 2: ``$wkt=true``); it belongs to
    the submission's ``updated_at`` and to the form's OData model (``model_key``, a hash of its tables and
    types over every version): a submission saved since, or a form given a new version, renders again."""

    submission = models.ForeignKey("surveys.Submission", on_delete=models.CASCADE, related_name="odata_rows")
    variant = models.PositiveSmallIntegerField()
    model_key = models.CharField(max_length=16)
    source_updated_at = models.DateTimeField()
    body_json = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "variant"], name="odata_row_one_per_variant"),
            models.CheckConstraint(condition=models.Q(variant__lte=3), name="odata_row_variant_known"),
        ]

    def __str__(self) -> str:
        return f"OData row {self.variant} of submission {self.submission_id}"
