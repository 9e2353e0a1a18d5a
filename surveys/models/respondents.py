"""Respondents, known only by a pseudonymous key."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from surveys.models.surveys import Round, Survey


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
