"""Submissions as received, their attachments, flags, comments and review log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from surveys.models.locations import Location
from surveys.models.surveys import Questionnaire, Round


class Submission(models.Model):
    """One interview as received, stored before anything else happens to it.

    ``raw_body`` holds the bytes exactly as the device sent them (the XML
    file, or the JSON body) and ``xml`` the instance built from a JSON body,
    both sealed by :mod:`surveys.services.raw_store`; ``answers`` is the
    anonymised record everything else reads. One row per
    (form_id, instanceID), enforced by the database. An edit (an instance
    with ``meta/deprecatedID``) is a new row whose ``previous`` is the row it
    replaces; the replaced row stays, no longer current.
    """

    class Format(models.TextChoices):
        XML = "xml", "OpenRosa XML"
        JSON = "json", "KoBo JSON"

    class Validation(models.TextChoices):
        PENDING = "pending", "Pending"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"

    class Review(models.TextChoices):
        APPROVED = "approved", "Approved"
        NOT_APPROVED = "not_approved", "Not approved"
        ON_HOLD = "on_hold", "On hold"
        HAS_ISSUES = "has_issues", "Has issues"

    class Processing(models.TextChoices):
        RECEIVING = "receiving", "Receiving (more parts expected)"
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        AWAITING_KEY = "awaiting_key", "Waiting for its key (encrypted)"

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="submissions")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="submissions",
                              help_text="The questionnaire's round, kept here for the round's queries.")
    form_id = models.CharField(max_length=100)
    instance_id = models.CharField(max_length=255)
    raw_body = models.BinaryField(help_text="Encrypted (raw store); emptied by the retention purge.")
    raw_format = models.CharField(max_length=4, choices=Format.choices, default=Format.XML)
    raw_sha256 = models.CharField(max_length=64)
    xml = models.BinaryField(null=True, blank=True, help_text="The instance built from a JSON body; "
                             "empty when the raw body is the instance XML itself.")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="submissions"
    )
    device = models.ForeignKey(
        "enumerators.Device", on_delete=models.SET_NULL, null=True, blank=True, related_name="submissions"
    )
    user_agent = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    complete = models.BooleanField(default=True, help_text="False while split parts are still arriving.")
    deprecated_id = models.CharField(max_length=255, blank=True)
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="edited_by"
    )
    is_current = models.BooleanField(default=True)
    attachments_expected = models.PositiveIntegerField(default=0)
    processing = models.CharField(max_length=16, choices=Processing.choices, default=Processing.PENDING)
    encrypted = models.BooleanField(default=False, help_text="Sent encrypted (ODK encrypted form): the raw body is "
                                    "the submission manifest, the attachments the .enc files.")
    processing_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    answers: models.JSONField[dict[str, Any] | None, dict[str, Any] | None] = models.JSONField(
        null=True, blank=True, help_text="The anonymised record: typed answers by field path.")
    respondent = models.ForeignKey("surveys.Respondent", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="submissions")
    consent = models.BooleanField(null=True, blank=True, help_text="None where the round names no consent question.")
    raw_purged_at = models.DateTimeField(null=True, blank=True)
    validation = models.CharField(max_length=8, choices=Validation.choices, default=Validation.PENDING)
    problems = models.JSONField(default=list, blank=True)
    unanswered: models.JSONField[list[str], list[str]] = models.JSONField(default=list, blank=True,
                                  help_text="Questions that were asked (relevant) but left empty.")
    started_at = models.DateTimeField(null=True, blank=True)
    interview_date = models.DateField(null=True, blank=True, help_text="Local date the interview started.")
    ended_at = models.DateTimeField(null=True, blank=True)
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="submissions", help_text="Where the interview took place.")
    respondent_sex = models.CharField(max_length=1, blank=True, default="",
                                      help_text="m or f, from the round's sex question (sex quotas); blank if unknown.")
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True,
                                   help_text="Keyed hash of the respondent's identifying answers (duplicates).")
    review_status = models.CharField(max_length=12, choices=Review.choices, null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    tallied = models.BooleanField(default=False, help_text="Counted in its round's tallies (report tables).")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["form_id", "instance_id"], name="submission_one_per_instance"),
            models.CheckConstraint(condition=~Q(instance_id=""), name="submission_instance_id_not_blank"),
            models.CheckConstraint(condition=Q(raw_sha256__regex=r"^[0-9a-f]{64}$"), name="submission_sha256_hex"),
            models.CheckConstraint(
                condition=Q(processing__in=["receiving", "pending", "processed", "failed", "awaiting_key"]),
                name="submission_processing_valid",
            ),
            models.CheckConstraint(condition=~Q(previous=F("id")), name="submission_not_own_previous"),
            models.CheckConstraint(condition=Q(respondent_sex__in=["", "m", "f"]),
                                   name="submission_respondent_sex_valid"),
            models.CheckConstraint(condition=Q(validation__in=["pending", "valid", "invalid"]),
                                   name="submission_validation_valid"),
            models.CheckConstraint(
                condition=Q(review_status__isnull=True)
                | Q(review_status__in=["approved", "not_approved", "on_hold", "has_issues"]),
                name="submission_review_valid",
            ),
        ]
        permissions = [("review_submission", "Can approve, reject or hold submissions"),
                       ("view_raw_submission", "Can open the raw store (data protection)")]
        indexes = [
            models.Index(fields=["processing", "received_at"], name="submission_unprocessed"),
            models.Index(fields=["questionnaire", "validation"], name="submission_validation"),
            models.Index(fields=["round", "fingerprint"], name="submission_round_fingerprint"),
            models.Index(fields=["round", "interview_date", "submitted_by"], name="submission_round_day"),
            models.Index(fields=["questionnaire", "is_current"], name="submission_current"),
            models.Index(fields=["round", "is_current", "submitted_by", "location", "respondent_sex"],
                         name="submission_round_progress"),
            models.Index(fields=["round", "review_status"], name="submission_round_review"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.instance_id}"



def attachment_upload_to(instance: SubmissionAttachment, filename: str) -> str:
    s = instance.submission
    return f"attachments/{s.form_id}/{s.pk}/{instance.filename}"


class SubmissionAttachment(models.Model):
    """A file sent with a submission (photo, audio, …), on Django's storage."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to=attachment_upload_to, max_length=500)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filename"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "filename"], name="attachment_one_per_filename"),
            models.CheckConstraint(condition=~Q(filename__contains="/"), name="attachment_filename_flat"),
        ]

    def __str__(self) -> str:
        return self.filename


class SubmissionFlag(models.Model):
    """A quality check that an interview failed, with the reason a supervisor reads."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="flags")
    check_name = models.CharField(max_length=32)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["check_name"]
        constraints = [models.UniqueConstraint(fields=["submission", "check_name"], name="flag_one_per_check")]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.reason}"


class SubmissionComment(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class ReviewEvent(models.Model):
    """The audit log of review states: who (``None`` for the system's own
    checks) changed a submission from what to what, when and why."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="review_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    from_status = models.CharField(max_length=12, null=True, blank=True)
    to_status = models.CharField(max_length=12, null=True, blank=True)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="review_event_changes_state"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class RawPurge(models.Model):
    """The log of retention purges: which round, how many submissions' raw
    data were removed, when. Never which respondents."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="purges")
    submissions = models.PositiveIntegerField()
    attachments = models.PositiveIntegerField()
    received_before = models.DateTimeField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.round}: {self.submissions} purged"
