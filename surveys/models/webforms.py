"""What the browser's web forms add (ADR 0020): public links to a form open to anonymous submission, and
the audit of a supervisor's corrections."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from surveys.models.submissions import Submission


class PublicLink(models.Model):
    """A revocable link ``/f/<token>/`` to fill a form without logging in, as KoboToolbox's Enketo links:
    the form's current version, posted as an anonymous submission of the link's owner (the account the
    form's anonymous submissions belong to, as Collect's ``/<username>/`` URLs). Revoked links stay."""

    token = models.CharField(verbose_name=_("token"), max_length=64, unique=True)
    form_id = models.CharField(verbose_name=_("form id"), max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(verbose_name=_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(verbose_name=_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("public link")
        verbose_name_plural = _("public links")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False),
                                   name="public_link_revoked_by_someone"),
        ]

    def __str__(self) -> str:
        return f"/f/{self.token}/"


class SubmissionCorrection(models.Model):
    """The audit of a correction in the browser: who replaced which version by which, when and why.
    The replaced version stays (the ``deprecatedID`` chain); its identifier fields were carried over."""

    submission = models.OneToOneField(Submission, verbose_name=_("new version"), on_delete=models.PROTECT,
                                      related_name="correction")
    replaced = models.OneToOneField(Submission, verbose_name=_("replaced version"), on_delete=models.PROTECT,
                                    related_name="corrected_by")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("corrected by"), on_delete=models.PROTECT,
                              related_name="+")
    reason = models.TextField(verbose_name=_("reason"))
    at = models.DateTimeField(verbose_name=_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="correction_has_reason"),
            models.CheckConstraint(condition=~Q(submission=F("replaced")), name="correction_new_version"),
        ]

    def __str__(self) -> str:
        return f"{self.replaced_id} → {self.submission_id}"
