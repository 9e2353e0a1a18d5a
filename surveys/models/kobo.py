"""What the KoBo API v2 keeps of its own: export settings saved by analysts' tools."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


def export_setting_uid() -> str:
    return "es" + secrets.token_urlsafe(15)[:20]


class KoboExportSetting(models.Model):
    """A named, reusable export configuration of a form (KoboToolbox's
    ``/export-settings/``), one set per account."""

    uid = models.CharField(max_length=32, unique=True, default=export_setting_uid, editable=False)
    form_id = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kobo_export_settings")
    name = models.CharField(max_length=255)
    export_settings = models.JSONField(default=dict, blank=True)
    date_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_modified", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["form_id", "user", "name"], name="kobo_export_setting_name_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="kobo_export_setting_name_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id}: {self.name}"


class KoboRecord(models.Model):
    """A submission's released answers as the KoBo API writes them (strings,
    group paths, identifier fields withheld), as JSON text: a cache that lets
    a page of 30,000 records be written without decoding and re-encoding
    every answer. It belongs to the submission's ``updated_at``: a record
    saved since (processed again, reviewed) is rendered again on its next read."""

    submission = models.OneToOneField("surveys.Submission", on_delete=models.CASCADE, primary_key=True,
                                      related_name="kobo_record")
    source_updated_at = models.DateTimeField()
    answers_json = models.TextField()

    def __str__(self) -> str:
        return f"KoBo record of submission {self.submission_id}"
