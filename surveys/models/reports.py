"""Read models of a round's reports: the running tallies the round tables
are served from, and record exports made in the background."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.surveys import Round


class RoundTally(models.Model):
    """One cell of a round's running tables: how many counted submissions of
    ``form_id`` in ``group`` of ``dimension`` have ``value`` at ``path``.

    ``dimension`` is ``""`` for the whole round (``group`` ``""``),
    ``location`` (``group`` a location code) or a select_one question's name
    (``group`` a choice). ``value`` is a choice, a number written as text, or
    one of the counters ``@asked``, ``@base``, ``@chosen`` (options chosen
    in a select_multiple) and ``@n`` (submissions, ``path`` ``""``).
    Maintained by :mod:`surveys.services.tallies`; a rebuild from the
    records gives the same rows.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="tallies")
    form_id = models.CharField(max_length=100)
    dimension = models.CharField(max_length=100, blank=True)
    group = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=255, blank=True)
    value = models.CharField(max_length=255)
    count = models.BigIntegerField(default=0)
    #: A number question's value as a number (indexed: the report reads the few values of a bucket
    #: by range); null for every other cell.
    number = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "form_id", "dimension", "group", "path", "value"],
                                    name="round_tally_one_cell"),
            models.CheckConstraint(condition=Q(count__gte=0), name="round_tally_not_negative"),
        ]
        indexes = [
            models.Index(fields=["round", "form_id", "dimension", "group", "path", "number"],
                         condition=Q(number__isnull=False), name="round_tally_numbers"),
            # The cells the report reads whole (all but the number values: a small share of the rows).
            models.Index(fields=["round", "form_id", "dimension"], condition=Q(number__isnull=True),
                         name="round_tally_counts"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.dimension}={self.group} {self.path}={self.value}: {self.count}"


class ExactSumField(models.DecimalField):
    """An exact running sum: PostgreSQL's unconstrained ``numeric`` (any digits, adding is exact);
    elsewhere (SQLite, for tests and development) the database's decimal."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", 65)
        kwargs.setdefault("decimal_places", 30)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return "numeric" if connection.vendor == "postgresql" else super().db_type(connection)


class RoundNumberTally(models.Model):
    """A number question's running sums in one group of a round (beside its
    :class:`RoundTally` cells): ``n`` numbers given, their ``total`` and the
    ``total`` of their squares — the mean and sd without reading every value.
    Kept with the cells by :mod:`surveys.services.tallies` (summed over a
    batch, one upsert); a rebuild gives the same rows. No row for a group
    where nobody gave a number."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="number_tallies")
    form_id = models.CharField(max_length=100)
    dimension = models.CharField(max_length=100, blank=True)
    group = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=255)
    n = models.BigIntegerField(default=0)
    total = ExactSumField(default=0)
    squares = ExactSumField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "form_id", "dimension", "group", "path"],
                                    name="round_number_tally_one_group"),
            models.CheckConstraint(condition=Q(n__gte=0), name="round_number_tally_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.dimension}={self.group} {self.path}: n={self.n}"


def export_uid() -> str:
    return "e" + secrets.token_hex(11)


def export_upload_to(instance: RecordExport, filename: str) -> str:
    return f"exports/{instance.form_id}/{instance.uid}/{filename}"


class RecordExport(models.Model):
    """The anonymised records of a form in a round as a CSV or XLSX file,
    written by a Celery task and downloaded when ``status`` is complete."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        XLSX = "xlsx", _("Excel (XLSX)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        COMPLETE = "complete", _("Complete")
        ERROR = "error", _("Error")

    uid = models.CharField(verbose_name=_("UID"), max_length=32, unique=True, default=export_uid, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.CASCADE, related_name="exports")
    form_id = models.CharField(verbose_name=_("form ID"), max_length=100)
    round = models.ForeignKey(Round, verbose_name=_("round"), on_delete=models.CASCADE, related_name="exports")
    fmt = models.CharField(_("format"), max_length=4, choices=Format.choices, default=Format.XLSX)
    options = models.JSONField(verbose_name=_("options"), default=dict, blank=True,
                               help_text=_("labels (bool), lang, sheet (a repeat's path, CSV only)."))
    status = models.CharField(verbose_name=_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(verbose_name=_("file"), upload_to=export_upload_to, blank=True)
    rows = models.PositiveIntegerField(verbose_name=_("rows"), default=0)
    error = models.TextField(verbose_name=_("error"), blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("record export")
        verbose_name_plural = _("record exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(fmt__in=["csv", "xlsx"]), name="record_export_format_valid"),
            models.CheckConstraint(condition=Q(status__in=["pending", "processing", "complete", "error"]),
                                   name="record_export_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} round {self.round.number} {self.fmt} ({self.status})"
