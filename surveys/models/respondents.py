"""Respondents, known only by a pseudonymous key."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.surveys import Round, Survey


class Respondent(models.Model):
    """A person interviewed, known only by a pseudonymous key: the keyed HMAC
    of the round's ``pseudonym`` fields. Never a name. Interviews of the same
    person in several rounds link to one row."""

    class Consent(models.TextChoices):
        GIVEN = "given", _("Given")
        REFUSED = "refused", _("Refused")
        UNKNOWN = "unknown", _("Unknown")

    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="respondents")
    key = models.CharField(verbose_name=_("key"), max_length=64,
                           help_text=_("HMAC-SHA256 (hex) of the pseudonym fields."))
    consent = models.CharField(verbose_name=_("consent"), max_length=8, choices=Consent.choices,
                               default=Consent.UNKNOWN)
    first_round = models.ForeignKey(Round, verbose_name=_("first round"), on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("respondent")
        verbose_name_plural = _("respondents")
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="respondent_key_unique_in_survey"),
            models.CheckConstraint(condition=Q(key__regex=r"^[0-9a-f]{64}$"), name="respondent_key_is_hmac"),
            models.CheckConstraint(
                condition=Q(consent__in=["given", "refused", "unknown"]), name="respondent_consent_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"respondent {self.key[:10]}…"
