"""Surveys, rounds and questionnaire versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from surveys.errors import QuestionnaireNotDeletable
from surveys.kobo_ids import asset_uid
from surveys.models.locations import Location

if TYPE_CHECKING:
    from surveys.form_schema import FormSchema


class Survey(models.Model):
    """A survey programme, e.g. "MTM Kazakhstan — international migrant workers survey"."""

    slug = models.SlugField(verbose_name=_("slug"), max_length=64, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=255)
    description = models.TextField(verbose_name=_("description"), blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


def default_report_by() -> list[str]:
    """The default of ``Round.report_by`` before migration 0014 (kept for migration 0010)."""
    return ["sex"]


class Round(models.Model):
    """One round of data collection of a survey."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveIntegerField(verbose_name=_("number"))
    title = models.CharField(verbose_name=_("title"), max_length=255, blank=True)
    start_date = models.DateField(verbose_name=_("start date"), null=True, blank=True)
    end_date = models.DateField(verbose_name=_("end date"), null=True, blank=True)
    status = models.CharField(verbose_name=_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    target_sample = models.PositiveIntegerField(verbose_name=_("target sample"), default=0)
    locations = models.ManyToManyField(Location, verbose_name=_("locations"), related_name="rounds", blank=True)
    checks: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(verbose_name=_("checks"),
        default=dict, blank=True,
        help_text=_("Quality-check settings; keys left out take the defaults of "
                  "surveys.round_settings.CheckSettings."),
    )
    privacy: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(verbose_name=_("privacy"),
        default=dict, blank=True,
        help_text=_("Anonymisation settings (consent question, GPS displace/coarsen, k, retention); keys left out "
                  "take the defaults of surveys.round_settings.PrivacySettings."),
    )
    sex_question = models.CharField(verbose_name=_("sex question"),
        max_length=100, default="sex", blank=True,
        help_text=_("The select_one question (by name) holding the respondent's sex: the sex quotas count its "
                  "answers (choice names mapped by the checks' sex_values) and its breakdown is always kept "
                  "current. Blank: the round has none. Changing it rebuilds the tallies."),
    )
    report_by: models.JSONField[list[str], list[str]] = models.JSONField(verbose_name=_("report by"),
        default=list, blank=True,
        help_text=_("Further select_one questions (by name) whose breakdowns are kept current besides location "
                  "and the sex question; reports by any other question are computed from the records. Changing "
                  "it rebuilds the tallies."),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("round")
        verbose_name_plural = _("rounds")
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
        """The survey's title and the round's number, as people call it."""
        return gettext("%(survey)s — round %(number)s") % {"survey": self.survey.name, "number": self.number}

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def setup_missing(self) -> list[str]:
        """What a round made by an XLSForm import (or by hand) still lacks before collection is measured
        against it: its dates (the dashboard's "behind") and its target. Empty when it is complete."""
        missing = []
        if self.start_date is None or self.end_date is None:
            missing.append("dates")
        if not self.target_sample:
            missing.append("target")
        return missing


def schema_key(md5: str, schema_rev: int) -> str:
    return f"{md5}.{schema_rev}"


def xlsform_upload_to(instance: Questionnaire, filename: str) -> str:
    return f"xlsforms/{instance.form_id}/{instance.version}/{filename}"


class QuestionnaireQuerySet(models.QuerySet["Questionnaire"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        """Versions are archived, never deleted (:class:`~surveys.errors.QuestionnaireNotDeletable`)."""
        raise QuestionnaireNotDeletable()


class Questionnaire(models.Model):
    """One version of a form, as converted from its XLSForm.

    Versions are never deleted (``delete`` raises
    :class:`~surveys.errors.QuestionnaireNotDeletable`, on a row or a queryset):
    a version once offered may still be on tablets. An archived version
    (``archived_at``) is no longer offered in ``/formList`` but still accepts
    submissions and still downloads by ``?version=``.

    A form (``form_id``) has one row per version; submissions keep the version
    they were made with. ``schema`` is the parsed field schema that validation,
    anonymisation and tabulation read (see :mod:`surveys.services.xlsform`).
    ``md5`` is the hash of ``xform_xml`` encoded as UTF-8, exactly the bytes
    served at ``/forms/<form_id>/form.xml``.
    """

    round = models.ForeignKey(Round, verbose_name=_("round"), on_delete=models.PROTECT, related_name="questionnaires")
    form_id = models.CharField(verbose_name=_("form ID"), max_length=100)
    version = models.CharField(verbose_name=_("version"), max_length=100)
    title = models.CharField(verbose_name=_("title"), max_length=255)
    xform_xml = models.TextField(verbose_name=_("XForm XML"))
    md5 = models.CharField(verbose_name=_("MD5"), max_length=32)
    schema: models.JSONField[FormSchema, FormSchema] = models.JSONField(verbose_name=_("schema"))
    source_file = models.FileField(verbose_name=_("source file"), upload_to=xlsform_upload_to, blank=True)
    source_md5 = models.CharField(verbose_name=_("source MD5"), max_length=32)
    allow_anonymous = models.BooleanField(verbose_name=_("anonymous submissions"),
        default=False, help_text=_("Accept submissions without credentials under /<username>/submission.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True,
                                                 related_name="+"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    #: The form's KoboToolbox asset uid (:func:`surveys.kobo_ids.asset_uid` of ``form_id``, set on save), so
    #: that the KoBo API finds an asset's versions in one indexed query.
    kobo_uid = models.CharField(verbose_name=_("KoBo asset UID"), max_length=32, editable=False, db_index=True)
    #: When the version was archived (the admin's archive action): no longer offered to tablets; None: offered.
    archived_at = models.DateTimeField(verbose_name=_("archived at"), null=True, blank=True, editable=False)
    #: True when the XLSForm had no version and the server assigned it (``questionnaire_import``).
    version_assigned = models.BooleanField(default=False, editable=False)
    #: The md5 of the form's content whatever its version: an XLSForm without a version re-imported with the
    #: same content is the same version.
    content_md5 = models.CharField(max_length=32, blank=True, editable=False)
    #: pyxform's warnings about the XLSForm, shown in the admin.
    warnings: models.JSONField[list[str], list[str]] = models.JSONField(default=list, blank=True, editable=False)
    #: The files the form needs on the device (:class:`surveys.services.form_media.NeededFile`), present or not.
    media_needed: models.JSONField[list[dict[str, Any]], list[dict[str, Any]]] = models.JSONField(
        default=list, blank=True, editable=False)
    #: Counts the changes an attached file made to ``schema`` (choices from a CSV, XML or GeoJSON): part of
    #: :attr:`schema_key`, the key of the schema's per-process caches.
    schema_rev = models.PositiveIntegerField(default=0, editable=False)
    #: The key pair this version encrypts its interviews with (its XForm's ``base64RsaPublicKey``); None: not
    #: encrypted.
    encryption_key = models.ForeignKey("surveys.FormKey", on_delete=models.PROTECT, null=True, blank=True,
                                       editable=False, related_name="questionnaires")

    objects = QuestionnaireQuerySet.as_manager()

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kobo_uid = asset_uid(self.form_id)
        if kwargs.get("update_fields") is not None and "form_id" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "kobo_uid"}
        super().save(*args, **kwargs)

    def delete(self, using: Any = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """Versions are archived, never deleted (:class:`~surveys.errors.QuestionnaireNotDeletable`)."""
        raise QuestionnaireNotDeletable()

    @property
    def schema_key(self) -> str:
        """What identifies this version's ``schema`` as it is now (the XForm's md5 and ``schema_rev``)."""
        return schema_key(self.md5, self.schema_rev)

    @property
    def media_missing(self) -> list[str]:
        """The files the form needs that are not attached yet (``media`` prefetched or not)."""
        present = {m.filename for m in self.media.all()}
        return [f["filename"] for f in self.media_needed if f["filename"] not in present]

    @property
    def encrypted(self) -> bool:
        return self.encryption_key_id is not None


def media_upload_to(instance: QuestionnaireMedia, filename: str) -> str:
    q = instance.questionnaire
    return f"form-media/{q.form_id}/{q.version}/{instance.filename}"


class QuestionnaireMedia(models.Model):
    """A media file a form version needs on the device (image, audio, video, CSV / XML / GeoJSON for
    ``pulldata``, ``search()`` and ``select_one_from_file``), listed in the OpenRosa manifest. Only the
    files the form names (``Questionnaire.media_needed``) are attached."""

    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), on_delete=models.CASCADE,
                                      related_name="media")
    filename = models.CharField(verbose_name=_("filename"), max_length=255)
    file = models.FileField(verbose_name=_("file"), upload_to=media_upload_to)
    md5 = models.CharField(verbose_name=_("MD5"), max_length=32)
    content_type = models.CharField(verbose_name=_("content type"), max_length=100, default="application/octet-stream")

    class Meta:
        verbose_name = _("media file")
        verbose_name_plural = _("media files")
        ordering = ["filename"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "filename"], name="media_filename_unique"),
            models.CheckConstraint(condition=~Q(filename__contains="/"), name="media_filename_flat"),
        ]

    def __str__(self) -> str:
        return self.filename
