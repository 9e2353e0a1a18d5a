"""KoboToolbox's REST services ("hooks") of a form: where each processed
interview's released record is POSTed, the deliveries (one per hook and
submission version, a database constraint) and every attempt's log."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def hook_uid() -> str:
    return "h" + secrets.token_urlsafe(16)[:21]


def hook_log_uid() -> str:
    return "hl" + secrets.token_urlsafe(16)[:20]


def delivery_uid() -> str:
    return "hd" + secrets.token_urlsafe(16)[:20]


class RestHook(models.Model):
    """A REST service of a form (all versions of a ``form_id``, one KoBo asset).

    ``sealed`` holds the write-only secrets (the Basic-auth password and the signing secret) as a Fernet
    token with ``MTM_HOOK_KEY`` (:mod:`surveys.services.hooks.secrets`); ``settings`` the rest of KoboToolbox's
    ``settings`` (``username``, ``custom_headers``)."""

    class ExportType(models.TextChoices):
        JSON = "json", "JSON"
        XML = "xml", "XML"

    class AuthLevel(models.TextChoices):
        NO_AUTH = "no_auth", _("No authorization")
        BASIC_AUTH = "basic_auth", _("Basic authorization")

    uid = models.CharField(max_length=32, unique=True, default=hook_uid, editable=False)
    form_id = models.CharField(_("form ID"), max_length=100, db_index=True)
    name = models.CharField(_("name"), max_length=255)
    endpoint = models.URLField(_("endpoint"), max_length=2000)
    active = models.BooleanField(_("active"), default=True)
    export_type = models.CharField(_("export type"), max_length=4, choices=ExportType.choices,
                                   default=ExportType.JSON)
    auth_level = models.CharField(_("authorization"), max_length=10, choices=AuthLevel.choices,
                                  default=AuthLevel.NO_AUTH)
    settings = models.JSONField(_("settings"), default=dict, blank=True,
                                help_text=_("username and custom_headers (no secret)"))
    sealed = models.BinaryField(default=b"", blank=True, editable=False,
                                help_text="The password and signing secret, encrypted with MTM_HOOK_KEY.")
    subset_fields = models.JSONField(_("subset fields"), default=list, blank=True)
    email_notification = models.BooleanField(
        _("e-mail notification"), default=True,
        help_text=_("Once a day, e-mail the deliveries that failed after every retry to the people responsible "
                    "for the form."))
    payload_template = models.TextField(_("payload template"), blank=True, default="")
    created_by = models.ForeignKey("enumerators.User", verbose_name=_("created by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    date_created = models.DateTimeField(_("created"), auto_now_add=True)
    date_modified = models.DateTimeField(_("modified"), auto_now=True)
    #: Until when the e-mailed report of failed deliveries has told (:mod:`surveys.services.hooks.failures`).
    failures_reported_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["form_id", "name", "id"]
        verbose_name = _("REST service")
        verbose_name_plural = _("REST services")
        constraints = [
            models.UniqueConstraint(fields=["form_id", "name"], name="rest_hook_name_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="rest_hook_name_not_blank"),
            models.CheckConstraint(condition=Q(endpoint__startswith="http://") | Q(endpoint__startswith="https://"),
                                   name="rest_hook_endpoint_http"),
            models.CheckConstraint(condition=Q(export_type__in=["json", "xml"]), name="rest_hook_export_type_valid"),
            models.CheckConstraint(condition=Q(auth_level__in=["no_auth", "basic_auth"]),
                                   name="rest_hook_auth_level_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id}: {self.name}"


class HookDelivery(models.Model):
    """One submission version to send to one hook: at most one, ever (an edit is a new submission, so a
    new delivery). ``tries`` counts every attempt; ``round_tries`` those since the last manual retry (the
    retry schedule starts again after one). ``lease_until`` keeps a second worker off while one sends."""

    class Status(models.IntegerChoices):
        # KoboToolbox's numbers: 0 failed, 1 pending, 2 success.
        FAILED = 0, _("failed")
        PENDING = 1, _("pending")
        SUCCESS = 2, _("success")

    uid = models.CharField(max_length=32, unique=True, default=delivery_uid, editable=False)
    hook = models.ForeignKey(RestHook, verbose_name=_("REST service"), on_delete=models.CASCADE,
                             related_name="deliveries")
    submission = models.ForeignKey("surveys.Submission", verbose_name=_("submission"), on_delete=models.CASCADE,
                                   related_name="hook_deliveries")
    status = models.PositiveSmallIntegerField(_("status"), choices=Status.choices, default=Status.PENDING)
    tries = models.PositiveIntegerField(_("attempts"), default=0)
    round_tries = models.PositiveIntegerField(_("attempts since the last retry"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_until = models.DateTimeField(_("held until"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True, default="")
    date_created = models.DateTimeField(_("created"), auto_now_add=True)
    date_modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        ordering = ["-date_created", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["hook", "submission"], name="hook_delivery_once"),
            models.CheckConstraint(condition=Q(status__in=[0, 1, 2]), name="hook_delivery_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="hook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.hook} → submission {self.submission_id}"


class HookLog(models.Model):
    """One attempt to send a delivery: the receiver's status code (null when none answered) and the
    first part of its answer or the error; ``status`` is the delivery's after that attempt."""

    uid = models.CharField(max_length=32, unique=True, default=hook_log_uid, editable=False)
    delivery = models.ForeignKey(HookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE,
                                 related_name="logs")
    hook = models.ForeignKey(RestHook, verbose_name=_("REST service"), on_delete=models.CASCADE, related_name="logs")
    submission_id = models.BigIntegerField(_("submission"), db_index=True)
    attempt = models.PositiveIntegerField(_("attempt"))
    status = models.PositiveSmallIntegerField(_("status"), choices=HookDelivery.Status.choices)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True, default="")
    date_created = models.DateTimeField(_("created"), auto_now_add=True)
    date_modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        ordering = ["-date_created", "-id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [
            models.UniqueConstraint(fields=["delivery", "attempt"], name="hook_log_one_per_attempt"),
            models.CheckConstraint(condition=Q(status__in=[0, 1, 2]), name="hook_log_status_valid"),
        ]
        indexes = [models.Index(fields=["hook", "-date_created"], name="hook_log_by_hook")]

    def __str__(self) -> str:
        return f"{self.hook_id} attempt {self.attempt} of submission {self.submission_id}"
