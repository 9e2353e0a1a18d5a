"""One entry point for the running counts: a change wrapped in counts_kept moves the tallies, the progress
counts and the flag counts together by the difference; a block that raises moves none."""

import pytest
from django.db import transaction

from surveys.models import FlagCount, ProgressCount, RoundTally, Submission, SubmissionFlag
from surveys.services.counts import counts_kept
from surveys.services.progress import round_progress_rebuild

pytestmark = pytest.mark.django_db


def state(round_):
    tallies = {(t.dimension, t.group, t.path, t.value): t.count for t in RoundTally.objects.filter(round=round_)}
    progress = {(p.review_status, p.respondent_sex): p.count for p in ProgressCount.objects.filter(round=round_)
                if p.count}
    return tallies, progress


def test_a_change_moves_tallies_and_progress_together(rounds):
    sub = Submission.objects.filter(round=rounds, review_status__isnull=True, respondent_sex="m").order_by("id")[0]
    tallies, progress = state(rounds)

    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=sub.pk)
        with counts_kept(locked) as counts:
            locked.review_status = "not_approved"
            locked.save(update_fields=["review_status"])

    after_tallies, after_progress = state(rounds)
    assert counts.changed is True
    assert after_tallies[("", "", "", "@n")] == tallies[("", "", "", "@n")] - 1
    assert after_progress.get(("not_approved", "m"), 0) == progress.get(("not_approved", "m"), 0) + 1
    assert after_progress.get(("", "m"), 0) == progress.get(("", "m"), 0) - 1

    with transaction.atomic(), counts_kept(locked) as unchanged:
        locked.save(update_fields=["updated_at"])
    assert (unchanged.changed, state(rounds)) == (False, (after_tallies, after_progress))


def test_a_block_that_raises_moves_nothing(rounds):
    sub = Submission.objects.filter(round=rounds, review_status__isnull=True).order_by("id")[0]
    before = state(rounds)

    with pytest.raises(RuntimeError), transaction.atomic(), counts_kept(sub):
        sub.review_status = "not_approved"
        sub.save(update_fields=["review_status"])
        raise RuntimeError("the writer failed half-way")

    assert state(rounds) == before
    sub.refresh_from_db()
    assert sub.review_status is None


def flag_state(round_):
    return sorted(FlagCount.objects.filter(round=round_).values_list("review_status", "check_name", "count"))


def test_a_review_moves_the_submission_s_flags_and_a_raising_block_moves_none(rounds):
    sub = Submission.objects.filter(round=rounds, review_status__isnull=True).order_by("id")[0]
    SubmissionFlag.objects.create(submission=sub, check_name="outlier", reason="r")
    SubmissionFlag.objects.create(submission=sub, check_name="short_interview", reason="r")
    round_progress_rebuild(round_id=rounds.pk)  # counted as the flags stand
    assert flag_state(rounds) == [("", "outlier", 1), ("", "short_interview", 1)]

    with pytest.raises(RuntimeError), transaction.atomic(), counts_kept(sub):
        sub.review_status = "approved"
        sub.save(update_fields=["review_status"])
        raise RuntimeError("the writer failed half-way")
    assert flag_state(rounds) == [("", "outlier", 1), ("", "short_interview", 1)]

    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=sub.pk)
        with counts_kept(locked) as counts:
            locked.review_status = "approved"
            locked.save(update_fields=["review_status"])
    assert counts.changed is True
    assert flag_state(rounds) == [("approved", "outlier", 1), ("approved", "short_interview", 1)]

    with transaction.atomic():
        with counts_kept(locked) as flagged:
            flagged.flags_now(["outlier"])  # a writer that drops a flag says which it keeps, and writes it after
        SubmissionFlag.objects.filter(submission=locked, check_name="short_interview").delete()
    assert (flagged.changed, flag_state(rounds)) == (True, [("approved", "outlier", 1)])
    round_progress_rebuild(round_id=rounds.pk)
    assert flag_state(rounds) == [("approved", "outlier", 1)]
