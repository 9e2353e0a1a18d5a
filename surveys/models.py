"""Surveys, rounds, questionnaire versions, locations and respondents.

Data and invariants only; every workflow lives in :mod:`surveys.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Location(models.Model):
    """A place in the hierarchy country → region / city → district.

    ``code`` is stable and what forms send (ISO 3166-2 for Kazakhstan's
    regions and cities of republican significance, e.g. ``KZ-75`` Almaty).
    """

    class Level(models.TextChoices):
        COUNTRY = "country", "Country"
        REGION = "region", "Region"
        CITY = "city", "City of republican significance"
        DISTRICT = "district", "District"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    name_ru = models.CharField(max_length=128, blank=True)
    name_kk = models.CharField(max_length=128, blank=True)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    is_urban = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="country", parent__isnull=True) | (~Q(level="country") & Q(parent__isnull=False)),
                name="location_only_countries_are_roots",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="location_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Survey(models.Model):
    """A survey programme, e.g. "MTM Kazakhstan — international migrant workers survey"."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Round(models.Model):
    """One round of data collection of a survey."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    target_sample = models.PositiveIntegerField(default=0)
    locations = models.ManyToManyField(Location, related_name="rounds", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["survey", "number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="round_number_unique_in_survey"),
            models.CheckConstraint(condition=Q(number__gte=1), name="round_number_positive"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="round_period_ordered",
            ),
            models.CheckConstraint(condition=Q(status__in=["open", "closed"]), name="round_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.survey.slug} round {self.number}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


def xlsform_upload_to(instance: Questionnaire, filename: str) -> str:
    return f"xlsforms/{instance.form_id}/{instance.version}/{filename}"


class Questionnaire(models.Model):
    """One version of a form, as converted from its XLSForm.

    A form (``form_id``) has one row per version; submissions keep the version
    they were made with. ``schema`` is the parsed field schema that validation,
    anonymisation and tabulation read (see :mod:`surveys.services.xlsform`).
    ``md5`` is the hash of ``xform_xml`` encoded as UTF-8, exactly the bytes
    served at ``/forms/<form_id>/form.xml``.
    """

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="questionnaires")
    form_id = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    title = models.CharField(max_length=255)
    xform_xml = models.TextField()
    md5 = models.CharField(max_length=32)
    schema = models.JSONField()
    source_file = models.FileField(upload_to=xlsform_upload_to, blank=True)
    source_md5 = models.CharField(max_length=32)
    allow_anonymous = models.BooleanField(
        default=False, help_text="Accept submissions without credentials under /<username>/submission."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["form_id", "-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form_id", "version"], name="questionnaire_version_unique"),
            models.CheckConstraint(condition=~Q(form_id=""), name="questionnaire_form_id_not_blank"),
            models.CheckConstraint(condition=Q(md5__regex=r"^[0-9a-f]{32}$"), name="questionnaire_md5_hex"),
        ]
        indexes = [models.Index(fields=["form_id", "-created_at"], name="questionnaire_latest")]

    def __str__(self) -> str:
        return f"{self.form_id} v{self.version}"


def media_upload_to(instance: QuestionnaireMedia, filename: str) -> str:
    q = instance.questionnaire
    return f"form-media/{q.form_id}/{q.version}/{instance.filename}"


class QuestionnaireMedia(models.Model):
    """A media file a form needs on the device (image, audio, CSV for
    ``pulldata``/``select_one_from_file``), listed in the OpenRosa manifest."""

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="media")
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to=media_upload_to)
    md5 = models.CharField(max_length=32)
    content_type = models.CharField(max_length=100, default="application/octet-stream")

    class Meta:
        ordering = ["filename"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "filename"], name="media_filename_unique"),
            models.CheckConstraint(condition=~Q(filename__contains="/"), name="media_filename_flat"),
        ]

    def __str__(self) -> str:
        return self.filename


class Respondent(models.Model):
    """A person interviewed, known only by a pseudonymous key: the keyed HMAC
    of the round's ``pseudonym`` fields. Never a name. Interviews of the same
    person in several rounds link to one row."""

    class Consent(models.TextChoices):
        GIVEN = "given", "Given"
        REFUSED = "refused", "Refused"
        UNKNOWN = "unknown", "Unknown"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="respondents")
    key = models.CharField(max_length=64, help_text="HMAC-SHA256 (hex) of the pseudonym fields.")
    consent = models.CharField(max_length=8, choices=Consent.choices, default=Consent.UNKNOWN)
    first_round = models.ForeignKey(Round, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="respondent_key_unique_in_survey"),
            models.CheckConstraint(condition=Q(key__regex=r"^[0-9a-f]{64}$"), name="respondent_key_is_hmac"),
            models.CheckConstraint(
                condition=Q(consent__in=["given", "refused", "unknown"]), name="respondent_consent_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"respondent {self.key[:10]}…"


class Submission(models.Model):
    """One interview as received, stored before anything else happens to it.

    ``raw_body`` holds the bytes exactly as the device sent them (the XML
    file, or the JSON body); :attr:`instance_xml` is the XForm instance that
    processing reads (the raw body for XML, ``xml`` built from the JSON). One row per
    (form_id, instanceID), enforced by the database. An edit (an instance
    with ``meta/deprecatedID``) is a new row whose ``previous`` is the row it
    replaces; the replaced row stays, no longer current.
    """

    class Format(models.TextChoices):
        XML = "xml", "OpenRosa XML"
        JSON = "json", "KoBo JSON"

    class Processing(models.TextChoices):
        RECEIVING = "receiving", "Receiving (more parts expected)"
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="submissions")
    form_id = models.CharField(max_length=100)
    instance_id = models.CharField(max_length=255)
    raw_body = models.BinaryField()
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
    processing = models.CharField(max_length=10, choices=Processing.choices, default=Processing.PENDING)
    processing_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["form_id", "instance_id"], name="submission_one_per_instance"),
            models.CheckConstraint(condition=~Q(instance_id=""), name="submission_instance_id_not_blank"),
            models.CheckConstraint(condition=Q(raw_sha256__regex=r"^[0-9a-f]{64}$"), name="submission_sha256_hex"),
            models.CheckConstraint(
                condition=Q(processing__in=["receiving", "pending", "processed", "failed"]),
                name="submission_processing_valid",
            ),
            models.CheckConstraint(condition=~Q(previous=F("id")), name="submission_not_own_previous"),
        ]
        indexes = [
            models.Index(fields=["processing", "received_at"], name="submission_unprocessed"),
            models.Index(fields=["questionnaire", "is_current"], name="submission_current"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.instance_id}"

    @property
    def instance_xml(self) -> bytes:
        """The XForm instance processing reads."""
        return bytes(self.xml if self.xml is not None else self.raw_body)


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
