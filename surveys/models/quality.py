"""Data quality II: an interview's quality facts (its audit log and answer patterns), the scorecard's running
cells, and back-checks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.submissions import Submission
from surveys.models.surveys import Round


class InterviewQuality(models.Model):
    """What processing learnt of how one interview was done: facts of its audit log (``audit.csv``) and of its
    answer patterns. No answer is kept here — counts, durations and question names only (old and new values and
    the location trail stay in the raw store). ``contribution`` is what the interview adds to its round's
    :class:`ScoreCell` rows while ``counted``."""

    class Audit(models.TextChoices):
        NONE = "none", _("No audit log")
        READ = "read", _("Read")
        UNAVAILABLE = "unavailable", _("Unreadable")

    submission = models.OneToOneField(Submission, verbose_name=_("submission"), on_delete=models.CASCADE,
                                      related_name="quality")
    round = models.ForeignKey(Round, verbose_name=_("round"), on_delete=models.CASCADE, related_name="+")
    audit = models.CharField(verbose_name=_("audit log"), max_length=12, choices=Audit.choices, default=Audit.NONE)
    audit_problem = models.CharField(verbose_name=_("audit log problem"), max_length=255, blank=True)
    active_seconds = models.FloatField(verbose_name=_("active time (s)"), null=True, blank=True)
    question_seconds: models.JSONField[dict[str, float], dict[str, float]] = models.JSONField(
        verbose_name=_("seconds per question"), default=dict, blank=True)
    pauses = models.PositiveIntegerField(verbose_name=_("pauses"), default=0)
    paused_seconds = models.FloatField(verbose_name=_("paused (s)"), default=0)
    backward_jumps = models.PositiveIntegerField(verbose_name=_("backward moves"), default=0)
    changed_answers = models.PositiveIntegerField(verbose_name=_("answers changed after moving on"), default=0)
    trail_points = models.PositiveIntegerField(verbose_name=_("location trail points"), default=0)
    trail_in_area = models.BooleanField(verbose_name=_("trail reaches the area"), null=True, blank=True)
    contribution: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(default=dict, blank=True)
    counted = models.BooleanField(default=False)
    enumerator_id = models.BigIntegerField(default=0, help_text="The sender's user id (0: anonymous).")

    class Meta:
        verbose_name = _("interview quality")
        verbose_name_plural = _("interview quality")
        constraints = [models.CheckConstraint(condition=Q(audit__in=["none", "read", "unavailable"]),
                                              name="quality_audit_valid")]

    def __str__(self) -> str:
        return f"quality of {self.submission_id}"


class ScoreCell(models.Model):
    """A running sum per round, enumerator (user id) and key: the scorecard's read model (``kind`` ``s``) and
    the team's time per question (``kind`` ``q``, key ``question:bin``). Kept by
    :mod:`surveys.services.quality`; ``round_scorecard_rebuild`` gives the same rows from the stored facts."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+")
    enumerator_id = models.BigIntegerField()
    kind = models.CharField(max_length=1)
    key = models.CharField(max_length=300)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "kind", "enumerator_id", "key"],
                                               name="score_cell_one")]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.enumerator_id}/{self.kind}:{self.key}={self.n}"


class BackCheck(models.Model):
    """An interview drawn for a back-check (or back-checked without being drawn), and the comparison once a
    supervisor's back-check interview links to it. ``result`` holds, per compared question name, its type and
    whether it differs — never an answer."""

    round = models.ForeignKey(Round, verbose_name=_("round"), on_delete=models.CASCADE, related_name="backchecks")
    original = models.OneToOneField(Submission, verbose_name=_("original interview"), on_delete=models.CASCADE,
                                    related_name="backcheck")
    enumerator_id = models.BigIntegerField(default=0)
    sampled = models.BooleanField(verbose_name=_("drawn"), default=True,
                                  help_text=_("Drawn by the round's sample (else back-checked unasked)."))
    weight = models.FloatField(default=1.0)
    drawn_at = models.DateTimeField(verbose_name=_("drawn at"), auto_now_add=True)
    backcheck = models.OneToOneField(Submission, verbose_name=_("back-check interview"), on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="backcheck_of")
    compared = models.PositiveIntegerField(verbose_name=_("questions compared"), default=0)
    differing = models.PositiveIntegerField(verbose_name=_("questions differing"), default=0)
    result: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(default=dict, blank=True)
    flagged = models.BooleanField(verbose_name=_("above the threshold"), default=False)
    compared_at = models.DateTimeField(verbose_name=_("compared at"), null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("back-checked by"), on_delete=models.SET_NULL,
                           null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("back-check")
        verbose_name_plural = _("back-checks")
        ordering = ["round", "enumerator_id", "original_id"]
        constraints = [models.CheckConstraint(condition=Q(differing__lte=models.F("compared")),
                                              name="backcheck_differing_within_compared")]
        indexes = [models.Index(fields=["round", "enumerator_id"], name="backcheck_round_enumerator")]

    def __str__(self) -> str:
        return f"back-check of {self.original_id}"

    @property
    def difference_rate(self) -> float | None:
        return self.differing / self.compared if self.compared else None
