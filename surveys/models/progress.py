"""The collection dashboard's read model: running counts of a round's current submissions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from surveys.models.surveys import Round


class ProgressCount(models.Model):
    """How many current submissions of a round share one combination of what
    the dashboard shows: who sent them (``user_id``, 0 for anonymous), where
    (``location_id``, 0 when not recorded), the respondent's sex, the review
    state (``""`` for none), whether the interview was refused, its validation
    (``pending`` until processed, then ``valid`` or ``invalid``), the day it was
    done (``interview_day``, ``""`` before processing) and the day it was
    received (local). ``last_received`` is the latest arrival ever counted in
    the cell. A submission waiting to be processed counts in one of
    ``PENDING_SLOTS`` cells (``slot``: its id modulo that; 0 once processed):
    every post adds to its sender's cell for the day, and concurrent posts of
    one account (a team sharing a login) would otherwise all wait on one row
    lock until each commits. Readers sum over the slots. Maintained by
    :mod:`surveys.services.progress` next to every change of a submission;
    :func:`~surveys.services.progress.round_progress_rebuild` gives the same
    rows from the submissions."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="progress_counts")
    user_id = models.BigIntegerField()
    location_id = models.BigIntegerField()
    respondent_sex = models.CharField(max_length=1, blank=True)
    review_status = models.CharField(max_length=12, blank=True)
    refused = models.BooleanField()
    validation = models.CharField(max_length=8, default="pending")
    interview_day = models.CharField(max_length=10, blank=True)
    received_day = models.DateField()
    slot = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)
    last_received = models.DateTimeField()

    #: How many cells share a pending (not yet processed) submission's count: ``slot`` = its id modulo this.
    PENDING_SLOTS = 16

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user_id", "location_id", "respondent_sex", "review_status",
                                            "refused", "validation", "interview_day", "received_day", "slot"],
                                    name="progress_count_one_cell"),
            models.CheckConstraint(condition=Q(count__gte=0), name="progress_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"round {self.round_id} user {self.user_id} location {self.location_id}: {self.count}"


class FlagCount(models.Model):
    """How many flags of one quality check (``check_name``) the current
    submissions of a round carry, per sender (``user_id``, 0 for anonymous)
    and review state (``""`` for none): the dashboard's flags waiting for
    review, read from a few hundred rows instead of a join over every flagged
    submission, and for a supervisor their team's senders only. Kept by
    :mod:`surveys.services.progress` with :class:`ProgressCount` (a submission's
    flags move with it when its review state changes or it is replaced);
    :func:`~surveys.services.progress.round_progress_rebuild` gives the same rows
    from the flags."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="flag_counts")
    user_id = models.BigIntegerField()
    review_status = models.CharField(max_length=12, blank=True)
    check_name = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user_id", "review_status", "check_name"],
                                    name="flag_count_one_cell"),
            models.CheckConstraint(condition=Q(count__gte=0), name="flag_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"round {self.round_id} user {self.user_id} {self.check_name}: {self.count}"
