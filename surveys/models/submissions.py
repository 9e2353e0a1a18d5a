"""Submissions as received, their attachments, flags, comments and review log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

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
        XML = "xml", _("OpenRosa XML")
        JSON = "json", _("KoBo JSON")

    class Validation(models.TextChoices):
        PENDING = "pending", _("Pending")
        VALID = "valid", _("Valid")
        INVALID = "invalid", _("Invalid")

    class Review(models.TextChoices):
        APPROVED = "approved", _("Approved")
        NOT_APPROVED = "not_approved", _("Not approved")
        ON_HOLD = "on_hold", _("On hold")
        HAS_ISSUES = "has_issues", _("Has issues")

    class Processing(models.TextChoices):
        RECEIVING = "receiving", _("Receiving (more parts expected)")
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        AWAITING_KEY = "awaiting_key", _("Waiting for its key (encrypted)")

    # No index of their own for these two foreign keys and the fingerprint: the composite indexes below lead
    # with them, and every processing update writes every index of the row (issue 16).
    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), on_delete=models.PROTECT,
                                      related_name="submissions", db_index=False)
    round = models.ForeignKey(Round, verbose_name=_("round"), on_delete=models.PROTECT, related_name="submissions",
                              db_index=False,
                              help_text=_("The questionnaire's round, kept here for the round's queries."))
    form_id = models.CharField(verbose_name=_("form ID"), max_length=100)
    instance_id = models.CharField(verbose_name=_("instance ID"), max_length=255)
    raw_body = models.BinaryField(verbose_name=_("raw body"),
                                  help_text=_("Encrypted (raw store); emptied by the retention purge."))
    raw_format = models.CharField(verbose_name=_("raw format"), max_length=4, choices=Format.choices,
                                  default=Format.XML)
    raw_sha256 = models.CharField(verbose_name=_("raw SHA-256"), max_length=64)
    xml = models.BinaryField(verbose_name=_("instance XML"), null=True, blank=True,
                             help_text=_("The instance built from a JSON body; "
                             "empty when the raw body is the instance XML itself."))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT, null=True, blank=True,
                                                 related_name="submissions"
    )
    device = models.ForeignKey(
        "enumerators.Device", verbose_name=_("device"), on_delete=models.SET_NULL, null=True, blank=True,
                                             related_name="submissions"
    )
    user_agent = models.CharField(verbose_name=_("user agent"), max_length=255, blank=True)
    received_at = models.DateTimeField(verbose_name=_("received at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    complete = models.BooleanField(verbose_name=_("complete"), default=True,
                                   help_text=_("False while split parts are still arriving."))
    deprecated_id = models.CharField(verbose_name=_("deprecated ID"), max_length=255, blank=True)
    previous = models.OneToOneField(
        "self", verbose_name=_("previous version"), on_delete=models.PROTECT, null=True, blank=True,
                               related_name="edited_by"
    )
    is_current = models.BooleanField(verbose_name=_("current"), default=True)
    attachments_expected = models.PositiveIntegerField(verbose_name=_("attachments expected"), default=0)
    processing = models.CharField(verbose_name=_("processing"), max_length=16, choices=Processing.choices,
                                  default=Processing.PENDING)
    encrypted = models.BooleanField(verbose_name=_("encrypted"), default=False, help_text=_(
        "Sent encrypted (ODK encrypted form): the raw body is the submission manifest, the attachments the .enc "
        "files."))
    processing_error = models.TextField(verbose_name=_("processing error"), blank=True)
    processed_at = models.DateTimeField(verbose_name=_("processed at"), null=True, blank=True)
    answers: models.JSONField[dict[str, Any] | None, dict[str, Any] | None] = models.JSONField(
        verbose_name=_("answers"), null=True, blank=True,
        help_text=_("The anonymised record: typed answers by field path."))
    respondent = models.ForeignKey("surveys.Respondent", verbose_name=_("respondent"), on_delete=models.SET_NULL,
                                   null=True, blank=True,
                                   related_name="submissions")
    consent = models.BooleanField(verbose_name=_("consent"), null=True, blank=True,
                                  help_text=_("None where the round names no consent question."))
    raw_purged_at = models.DateTimeField(verbose_name=_("raw data purged at"), null=True, blank=True)
    validation = models.CharField(verbose_name=_("validation"), max_length=8, choices=Validation.choices,
                                  default=Validation.PENDING)
    problems = models.JSONField(verbose_name=_("problems"), default=list, blank=True)
    unanswered: models.JSONField[list[str], list[str]] = models.JSONField(verbose_name=_("unanswered"), default=list,
                                                                          blank=True,
                                  help_text=_("Questions that were asked (relevant) but left empty."))
    started_at = models.DateTimeField(verbose_name=_("started at"), null=True, blank=True)
    interview_date = models.DateField(verbose_name=_("interview date"), null=True, blank=True,
                                      help_text=_("Local date the interview started."))
    ended_at = models.DateTimeField(verbose_name=_("ended at"), null=True, blank=True)
    location = models.ForeignKey(Location, verbose_name=_("location"), on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="submissions", help_text=_("Where the interview took place."))
    respondent_sex = models.CharField(verbose_name=_("respondent's sex"), max_length=1, blank=True, default="",
                                      help_text=_("m or f, from the round's sex question (sex quotas); blank if "
                                                  "unknown."))
    fingerprint = models.CharField(verbose_name=_("fingerprint"), max_length=64, blank=True,
                                   help_text=_("Keyed hash of the respondent's identifying answers (duplicates)."))
    review_status = models.CharField(verbose_name=_("review"), max_length=12, choices=Review.choices, null=True,
                                     blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    reviewed_at = models.DateTimeField(verbose_name=_("reviewed at"), null=True, blank=True)
    tallied = models.BooleanField(verbose_name=_("tallied"), default=False,
                                  help_text=_("Counted in its round's tallies (report tables)."))

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
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

    submission = models.ForeignKey(Submission, verbose_name=_("submission"), on_delete=models.PROTECT,
                                   related_name="attachments")
    filename = models.CharField(verbose_name=_("filename"), max_length=255)
    file = models.FileField(verbose_name=_("file"), upload_to=attachment_upload_to, max_length=500)
    sha256 = models.CharField(verbose_name=_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    content_type = models.CharField(verbose_name=_("content type"), max_length=100, default="application/octet-stream")
    received_at = models.DateTimeField(verbose_name=_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["filename"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "filename"], name="attachment_one_per_filename"),
            models.CheckConstraint(condition=~Q(filename__contains="/"), name="attachment_filename_flat"),
        ]

    def __str__(self) -> str:
        return self.filename


class SubmissionFlag(models.Model):
    """A quality check that an interview failed, with the reason a supervisor reads."""

    submission = models.ForeignKey(Submission, verbose_name=_("submission"), on_delete=models.CASCADE,
                                   related_name="flags")
    check_name = models.CharField(verbose_name=_("quality check"), max_length=32)
    reason = models.TextField(verbose_name=_("reason"))
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        ordering = ["check_name"]
        constraints = [models.UniqueConstraint(fields=["submission", "check_name"], name="flag_one_per_check")]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.reason}"


class SubmissionComment(models.Model):
    submission = models.ForeignKey(Submission, verbose_name=_("submission"), on_delete=models.CASCADE,
                                   related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField(verbose_name=_("text"))
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class ReviewEvent(models.Model):
    """The audit log of review states: who (``None`` for the system's own
    checks) changed a submission from what to what, when and why."""

    submission = models.ForeignKey(Submission, verbose_name=_("submission"), on_delete=models.CASCADE,
                                   related_name="review_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), on_delete=models.PROTECT, null=True,
                              blank=True,
                              related_name="+")
    from_status = models.CharField(verbose_name=_("from"), max_length=12, null=True, blank=True)
    to_status = models.CharField(verbose_name=_("to"), max_length=12, null=True, blank=True)
    comment = models.TextField(verbose_name=_("comment"), blank=True)
    at = models.DateTimeField(verbose_name=_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("review event")
        verbose_name_plural = _("review history")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="review_event_changes_state"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class RawPurge(models.Model):
    """The log of retention purges: which round, how many submissions' raw
    data were removed, when. Never which respondents."""

    round = models.ForeignKey(Round, verbose_name=_("round"), on_delete=models.PROTECT, related_name="purges")
    submissions = models.PositiveIntegerField(verbose_name=_("submissions"))
    attachments = models.PositiveIntegerField(verbose_name=_("attachments"))
    received_before = models.DateTimeField(verbose_name=_("received before"))
    at = models.DateTimeField(verbose_name=_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("raw data purge")
        verbose_name_plural = _("raw data purges")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.round}: {self.submissions} purged"
